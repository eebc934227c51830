//! The national communes table: what its first use costs (decompressing and indexing 35 014 rows, once per
//! process) and what a lookup costs after. The first call is timed in fresh processes (this bench re-runs itself),
//! memory is counted by a counting allocator. `cargo bench -p essaim-core --bench territory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use essaim_core::territory;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: forwarded as is to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded as is to the system allocator, which allocated it.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CHILD: &str = "ESSAIM_TERRITORY_BENCH_CHILD";

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn per_call(runs: u32, mut f: impl FnMut()) -> Duration {
    let mut samples = Vec::new();
    for _ in 0..15 {
        let start = Instant::now();
        for _ in 0..runs {
            f();
        }
        samples.push(start.elapsed() / runs);
    }
    median(samples)
}

fn main() {
    if std::env::var_os(CHILD).is_some() {
        // One fresh process: the first lookup decompresses and indexes the table.
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let start = Instant::now();
        let rennes = territory::commune("35238").expect("Rennes");
        let first = start.elapsed();
        std::hint::black_box(rennes);
        let kept = LIVE.load(Ordering::Relaxed) - before;
        let peak = PEAK.load(Ordering::Relaxed) - before;
        println!("{} {} {}", first.as_nanos(), kept, peak);
        return;
    }

    let exe = std::env::current_exe().expect("the bench's own path");
    let mut firsts = Vec::new();
    let (mut kept, mut peak) = (0, 0);
    for _ in 0..11 {
        let out = Command::new(&exe).env(CHILD, "1").output().expect("runs itself");
        let text = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<u128> = text.split_whitespace().map(|f| f.parse().expect("a number")).collect();
        firsts.push(Duration::from_nanos(fields[0] as u64));
        (kept, peak) = (fields[1] as usize, fields[2] as usize);
    }
    println!("communes table: {} rows", territory::communes().len());
    println!("first call (decompress + index), median of 11 processes: {:?}", median(firsts));
    println!("memory kept after the first call: {:.1} MB (peak during it {:.1} MB)", mb(kept), mb(peak));

    let by_code = per_call(100_000, || {
        std::hint::black_box(territory::commune(std::hint::black_box("69381")).ok());
    });
    let by_postal = per_call(100_000, || {
        std::hint::black_box(territory::resolve(std::hint::black_box("42000"), "ST ETIENNE").ok());
    });
    let cedex = per_call(10_000, || {
        std::hint::black_box(territory::resolve(std::hint::black_box("69361"), "LYON CEDEX 07").ok());
    });
    let ambiguous = per_call(10_000, || {
        std::hint::black_box(territory::find_by_name(std::hint::black_box("saint-denis")).err());
    });
    println!("lookup by INSEE code: {by_code:?}");
    println!("postal code + name (« ST ETIENNE », 42000): {by_postal:?}");
    println!("CEDEX code + name, by département (69361, « LYON CEDEX 07 »): {cedex:?}");
    println!("ambiguous name, error listing candidates (« saint-denis »): {ambiguous:?}");
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

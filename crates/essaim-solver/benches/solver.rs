//! Exact allocation vs the greedy baseline on generated instances (`cargo bench -p essaim-solver`).
//!
//! Sizes are `SUPPLIERSxLINES`, as in the issue (`generate::instance(suppliers, lines, 1)`). Each size and backend runs in its
//! own child process (this binary re-executed with `--child`) so that the peak memory (`VmHWM`) is that of one
//! instance; the child prints its measurements as one JSON line. Each size runs twice: `plain` (the base model,
//! every participation mode accepted — the ladder as it was before the procurement rules) and `rules`
//! (`generate::procurement_instance`: reserved lines, execution-only lines, clause hours, fairness) to show what
//! the rules cost. Dense instances (issue 12): `--instances metro:60x12,national:3000x150` (families `plain`,
//! `rules`, `metro` — everyone within everyone's reach around Lyon — and `national` — one giant component), or
//! `--dense` for the four. For those, each supplier holding lots in turn declines all of them and the
//! residual is re-solved with every other lot fixed: the reallocation a campaign runs (p50 / p99). Other
//! options: `--sizes 20x5,100x20`, `--runs N`, `--rules plain|rules|both`, `--time-limit S`, `--work-limit N`,
//! `--seed N` (other instances of the same families, 1 by default);
//! anything else (such as the `--bench` cargo passes) is ignored. Prints a Markdown table.

use std::process::{Command, ExitCode};
use std::time::Instant;

use std::time::Duration;

use essaim_solver::{
    AllocationInput, Backend, ExcludedPair, FixedLot, SolveSettings, Status, allocate, generate, greedy_allocate,
};
use serde::{Deserialize, Serialize};

/// (lines, suppliers) of the sizes 20×5 … 5000×200 (suppliers × lines).
const DEFAULT_SIZES: [(usize, usize); 5] = [(5, 20), (20, 100), (50, 500), (100, 2000), (200, 5000)];
/// Seed of the generated instances unless `--seed` gives another (instances not seen while tuning).
const SEED: u64 = 1;
/// The dense instances of issue 12 (family, suppliers × lines), and metro 100 × 20, whose components
/// (200–300 pairs) are the largest the first branch and bound treats as small.
const DENSE: [(&str, usize, usize); 5] =
    [("metro", 60, 12), ("metro", 100, 20), ("metro", 150, 30), ("metro", 400, 60), ("national", 3000, 150)];

/// What one child measures for one instance and backend.
#[derive(Debug, Serialize, Deserialize)]
struct Measure {
    rules: String,
    lines: usize,
    suppliers: usize,
    backend: String,
    pairs: usize,
    variables: usize,
    constraints: usize,
    components: usize,
    runs: usize,
    median_ms: f64,
    peak_mb: f64,
    status: String,
    gap: Option<f64>,
    /// Of the last run; with a time limit, runs of a dense instance end on different lots (timing decides
    /// which sub-problems finish), so the spread over the runs and how many were proven are kept too.
    objective: f64,
    #[serde(default)]
    objective_spread: (f64, f64),
    #[serde(default)]
    proven_runs: usize,
    greedy_objective: f64,
    greedy_ms: f64,
    /// Share of the total quantity left uncovered, exact and greedy.
    shortfall_pct: f64,
    greedy_shortfall_pct: f64,
    stopped_by: String,
    nodes: u64,
    neighbourhoods: u64,
    /// Further turns given to components cut short by their share of the time.
    #[serde(default)]
    turns: u64,
    /// Reallocation after one supplier declines all its lots (dense families only): p50, p99, count.
    realloc: Option<(f64, f64, usize)>,
}

struct Args {
    sizes: Vec<(usize, usize)>,
    runs: Option<usize>,
    child: Option<(usize, usize)>,
    backend: String,
    rules: Vec<String>,
    /// (family, suppliers, lines) given by `--instances` or `--dense`; replaces sizes × rules.
    instances: Vec<(String, usize, usize)>,
    time_limit: Option<f64>,
    work_limit: Option<u64>,
    seed: u64,
}

fn parse_size(text: &str) -> Option<(usize, usize)> {
    let (suppliers, lines) = text.trim().split_once(['x', 'X', '×'])?;
    Some((lines.trim().parse().ok()?, suppliers.trim().parse().ok()?))
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        sizes: DEFAULT_SIZES.to_vec(),
        runs: None,
        child: None,
        backend: "microlp".to_owned(),
        rules: vec!["plain".to_owned(), "rules".to_owned()],
        instances: Vec::new(),
        time_limit: None,
        work_limit: None,
        seed: SEED,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = |name: &str| inline.clone().or_else(|| it.next()).ok_or(format!("{name} needs a value"));
        match name.as_str() {
            "--sizes" => {
                let text = value("--sizes")?;
                args.sizes = text
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| parse_size(s).ok_or(format!("--sizes: {s:?} is not SUPPLIERSxLINES")))
                    .collect::<Result<_, _>>()?;
            }
            "--runs" => {
                let text = value("--runs")?;
                let runs: usize = text.parse().map_err(|_| format!("--runs: {text:?} is not a number"))?;
                args.runs = Some(runs.max(1));
            }
            "--child" => {
                let text = value("--child")?;
                args.child = Some(parse_size(&text).ok_or(format!("--child: {text:?} is not SUPPLIERSxLINES"))?);
            }
            "--backend" => args.backend = value("--backend")?,
            "--seed" => {
                let text = value("--seed")?;
                args.seed = text.parse().map_err(|_| format!("--seed: {text:?} is not a number"))?;
            }
            "--dense" => args.instances = DENSE.iter().map(|&(f, s, l)| (f.to_owned(), s, l)).collect(),
            "--instances" => {
                let text = value("--instances")?;
                args.instances = text
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|item| {
                        let (family, size) =
                            item.split_once(':').ok_or(format!("--instances: {item:?} is not FAMILY:SxL"))?;
                        let (lines, suppliers) =
                            parse_size(size).ok_or(format!("--instances: {item:?} is not FAMILY:SxL"))?;
                        match family {
                            "plain" | "rules" | "metro" | "national" => Ok((family.to_owned(), suppliers, lines)),
                            other => Err(format!("--instances: unknown family {other:?}")),
                        }
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--time-limit" => {
                let text = value("--time-limit")?;
                args.time_limit = Some(text.parse().map_err(|_| format!("--time-limit: {text:?} is not a number"))?);
            }
            "--work-limit" => {
                let text = value("--work-limit")?;
                args.work_limit = Some(text.parse().map_err(|_| format!("--work-limit: {text:?} is not a number"))?);
            }
            "--rules" => {
                args.rules = match value("--rules")?.as_str() {
                    "both" => vec!["plain".to_owned(), "rules".to_owned()],
                    one @ ("plain" | "rules" | "metro" | "national") => vec![one.to_owned()],
                    other => return Err(format!("--rules: {other:?} is not plain, rules, metro, national or both")),
                }
            }
            _ => {} // `--bench`, filters, …
        }
    }
    Ok(args)
}

fn backends() -> Vec<Backend> {
    #[allow(unused_mut)]
    let mut list = vec![Backend::Microlp];
    #[cfg(feature = "highs")]
    list.push(Backend::Highs);
    list
}

fn backend_named(name: &str) -> Result<Backend, String> {
    backends().into_iter().find(|b| b.name() == name).ok_or(format!("unknown or disabled backend {name:?}"))
}

fn default_runs(lines: usize) -> usize {
    match lines {
        0..=50 => 5,
        51..=100 => 3,
        _ => 1,
    }
}

fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let h =
        ((lat2 - lat1) / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * ((b.1 - a.1).to_radians() / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().min(1.0).asin()
}

/// Pairs of the model (docs/allocation.md): supplier with capacity in the line's sector and the site within its reach.
fn pairs(input: &AllocationInput) -> usize {
    let mut count = 0;
    for line in &input.lines {
        for s in &input.suppliers {
            let capacity = s.capacity.get(&line.sector).copied().unwrap_or(0.0);
            let d = haversine_km((s.location.lat, s.location.lon), (line.site.lat, line.site.lon));
            if capacity > 0.0 && d <= s.max_distance_km {
                count += 1;
            }
        }
    }
    count
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Peak resident memory of this process, in MB (Linux `VmHWM`).
fn peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb / 1024.0)
        })
        .unwrap_or(f64::NAN)
}

fn settings(args: &Args, backend: Backend) -> SolveSettings {
    let mut settings = SolveSettings { backend, work_limit: args.work_limit, ..SolveSettings::default() };
    if let Some(seconds) = args.time_limit {
        settings.time_limit = Duration::from_secs_f64(seconds);
    }
    settings
}

/// Each supplier holding lots (at most 30 of them, in order) declines all of them in turn: every other lot
/// becomes fixed, its pairs are excluded, and the residual is solved. Returns p50, p99 (ms) and the count.
fn reallocations(
    input: &AllocationInput,
    result: &essaim_solver::AllocationResult,
    settings: &SolveSettings,
) -> Result<(f64, f64, usize), String> {
    let mut holders: Vec<&str> = result.lots.iter().map(|l| l.supplier.as_str()).collect();
    holders.sort_unstable();
    holders.dedup();
    let mut times = Vec::new();
    for &declining in holders.iter().take(30) {
        let mut residual = input.clone();
        residual.fixed = result
            .lots
            .iter()
            .filter(|l| l.supplier != declining)
            .map(|l| FixedLot { line: l.line.clone(), supplier: l.supplier.clone(), quantity: l.quantity })
            .collect();
        residual.excluded = result
            .lots
            .iter()
            .filter(|l| l.supplier == declining)
            .map(|l| ExcludedPair { line: l.line.clone(), supplier: l.supplier.clone() })
            .collect();
        let started = Instant::now();
        allocate(&residual, settings).map_err(|e| e.to_string())?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times.get(((times.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(f64::NAN);
    Ok((at(0.5), at(0.99), times.len()))
}

fn child(args: &Args, lines: usize, suppliers: usize, runs: usize, rules: &str) -> Result<Measure, String> {
    let backend = backend_named(&args.backend)?;
    let input = match rules {
        "rules" => generate::procurement_instance(suppliers, lines, args.seed),
        "metro" => generate::metro_instance(suppliers, lines, args.seed),
        "national" => generate::national_instance(suppliers, lines, args.seed),
        _ => generate::instance(suppliers, lines, args.seed),
    };
    let settings = settings(args, backend);
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    let mut objective_spread = (f64::INFINITY, f64::NEG_INFINITY);
    let mut proven_runs = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let result = allocate(&input, &settings).map_err(|e| e.to_string())?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        objective_spread = (objective_spread.0.min(result.objective), objective_spread.1.max(result.objective));
        proven_runs += usize::from(result.status == Status::Optimal);
        last = Some(result);
    }
    let result = last.ok_or("no run")?;
    let realloc =
        if matches!(rules, "metro" | "national") { Some(reallocations(&input, &result, &settings)?) } else { None };
    let total: f64 = input.lines.iter().map(|l| l.quantity).sum();
    let short = |r: &essaim_solver::AllocationResult| {
        100.0 * (r.shortfall.iter().map(|s| s.quantity).sum::<f64>() + 0.0) / total.max(f64::MIN_POSITIVE)
    };
    let mut greedy_times = Vec::with_capacity(runs);
    let mut greedy_objective = f64::NAN;
    let mut greedy_shortfall_pct = f64::NAN;
    for _ in 0..runs {
        let started = Instant::now();
        let greedy = greedy_allocate(&input).map_err(|e| e.to_string())?;
        greedy_times.push(started.elapsed().as_secs_f64() * 1e3);
        greedy_objective = greedy.objective;
        greedy_shortfall_pct = short(&greedy);
    }
    Ok(Measure {
        rules: rules.to_owned(),
        lines,
        suppliers,
        backend: backend.name().to_owned(),
        pairs: pairs(&input),
        variables: result.stats.variables,
        constraints: result.stats.constraints,
        components: result.stats.components,
        runs,
        median_ms: median(times),
        peak_mb: peak_mb(),
        status: match result.status {
            Status::Optimal => "optimal",
            Status::Feasible => "feasible",
        }
        .to_owned(),
        gap: result.gap,
        objective: result.objective,
        objective_spread,
        proven_runs,
        greedy_objective,
        greedy_ms: median(greedy_times),
        shortfall_pct: short(&result),
        greedy_shortfall_pct,
        stopped_by: serde_json::to_value(result.stats.stopped_by)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        nodes: result.stats.nodes,
        neighbourhoods: result.stats.neighbourhoods,
        turns: result.stats.turns,
        realloc,
    })
}

fn run_child(
    args: &Args,
    lines: usize,
    suppliers: usize,
    runs: usize,
    backend: Backend,
    rules: &str,
) -> Result<Measure, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let mut command = Command::new(exe);
    command.args([
        "--child",
        &format!("{suppliers}x{lines}"),
        "--runs",
        &runs.to_string(),
        "--backend",
        backend.name(),
        "--rules",
        rules,
    ]);
    if let Some(seconds) = args.time_limit {
        command.args(["--time-limit", &seconds.to_string()]);
    }
    if let Some(nodes) = args.work_limit {
        command.args(["--work-limit", &nodes.to_string()]);
    }
    command.args(["--seed", &args.seed.to_string()]);
    let output = command.output().map_err(|e| format!("cannot start the child: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = stdout.lines().rev().find(|l| l.trim_start().starts_with('{'));
    match json {
        Some(line) if output.status.success() => {
            serde_json::from_str(line).map_err(|e| format!("bad child output: {e}"))
        }
        _ => Err(format!(
            "child failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("")
        )),
    }
}

fn row(m: &Measure) -> String {
    let gap = m.gap.map_or("—".to_owned(), |g| format!("{:.4}%", g * 100.0));
    let ratio = if m.objective > 0.0 { m.greedy_objective / m.objective } else { f64::NAN };
    let realloc = m.realloc.map_or("—".to_owned(), |(p50, p99, n)| format!("{p50:.0} / {p99:.0} ({n})"));
    // Over several runs: how many were proven, and the objective's spread when the runs differ.
    let status =
        if m.runs > 1 { format!("{} ({}/{} proven)", m.status, m.proven_runs, m.runs) } else { m.status.clone() };
    let (low, high) = m.objective_spread;
    let objective = if m.runs > 1 && high > low {
        format!("{:.1} (runs: {low:.1}–{high:.1})", m.objective)
    } else {
        format!("{:.1}", m.objective)
    };
    format!(
        "| {}×{} {} | {} | {} | {} | {} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {:.1} | {:.2} | {:.4} | {:.1}% / {:.1}% | {} | {} |",
        m.suppliers,
        m.lines,
        m.rules,
        m.pairs,
        m.variables,
        m.constraints,
        m.components,
        m.median_ms,
        m.peak_mb,
        status,
        m.stopped_by,
        gap,
        format_args!("{} / {} / {}", m.nodes, m.neighbourhoods, m.turns),
        objective,
        m.greedy_objective,
        m.greedy_ms,
        ratio,
        m.shortfall_pct,
        m.greedy_shortfall_pct,
        realloc,
        m.backend
    )
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("solver bench: {message}");
            return ExitCode::from(2);
        }
    };
    if let Some((lines, suppliers)) = args.child {
        let runs = args.runs.unwrap_or_else(|| default_runs(lines));
        let rules = args.rules.first().map_or("plain", String::as_str);
        return match child(&args, lines, suppliers, runs, rules)
            .and_then(|m| serde_json::to_string(&m).map_err(|e| e.to_string()))
        {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("solver bench child: {message}");
                ExitCode::FAILURE
            }
        };
    }

    let limit = args.time_limit.unwrap_or(SolveSettings::default().time_limit.as_secs_f64());
    println!(
        "Generated instances (seed {}), suppliers×lines; time limit {limit} s per run; median wall time of N runs.",
        args.seed
    );
    println!();
    println!(
        "| size | pairs | variables | constraints | components | median ms | peak MB | status | stopped by | gap | nodes / neighbourhoods / turns | objective | greedy objective | greedy ms | greedy/optimal | shortfall exact / greedy | realloc p50 / p99 ms | backend |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut failed = false;
    let list: Vec<(String, usize, usize)> = if args.instances.is_empty() {
        args.sizes.iter().flat_map(|&(l, s)| args.rules.iter().map(move |r| (r.clone(), s, l))).collect()
    } else {
        args.instances.clone()
    };
    for (rules, suppliers, lines) in &list {
        let (rules, suppliers, lines) = (rules.as_str(), *suppliers, *lines);
        let runs = args.runs.unwrap_or_else(|| default_runs(lines));
        {
            for backend in backends() {
                match run_child(&args, lines, suppliers, runs, backend, rules) {
                    Ok(m) => println!("{}", row(&m)),
                    Err(message) => {
                        failed = true;
                        println!("| {suppliers}×{lines} {rules} | {message} ||||||||||||| {} |", backend.name());
                    }
                }
            }
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

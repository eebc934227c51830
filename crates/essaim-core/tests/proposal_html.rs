//! The proposal page in a real browser: headless Chromium renders the example proposal (French and
//! English) to a screenshot and to an A4 PDF, and the test checks what a reader would get — a page that
//! is not blank, and a printout of a few A4 pages.
//!
//! Without Chromium the test says so and passes, unless `ESSAIM_TEST_REQUIRE_CHROMIUM=1`. The browser is
//! `ESSAIM_CHROMIUM` when set, else the first of `chromium`, `chromium-browser`, `google-chrome` on the
//! PATH. `ESSAIM_PROPOSAL_OUT_DIR=DIR` keeps the HTML, PNG and PDF files in DIR to look at them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use essaim_core::Lang;
use essaim_core::proposal::example::{example, inputs};
use essaim_core::proposal::{GroupementKind, Proposal, ProposalStatus, html};

const WIDTH: u32 = 1240;
const HEIGHT: u32 = 1754;
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn proposal_page_renders_in_a_real_browser() {
    let Some(browser) = find_browser() else {
        let required = std::env::var("ESSAIM_TEST_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1");
        assert!(!required, "ESSAIM_TEST_REQUIRE_CHROMIUM=1 but no Chromium was found (set ESSAIM_CHROMIUM)");
        eprintln!("skipped: no Chromium found (install chromium or set ESSAIM_CHROMIUM to run this test)");
        return;
    };
    let (dir, keep) = match std::env::var_os("ESSAIM_PROPOSAL_OUT_DIR") {
        Some(d) => (PathBuf::from(d), true),
        None => (
            std::env::temp_dir().join(format!(
                "essaim-proposal-html-{}-{}",
                std::process::id(),
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
            )),
            false,
        ),
    };
    std::fs::create_dir_all(&dir).expect("create the output directory");

    // Each page with the number of A4 sheets it may print on.
    let pages = [
        ("fr", example(Lang::Fr).expect("the example proposal builds"), 3..=9),
        ("en", example(Lang::En).expect("the example proposal builds"), 3..=9),
        ("draft-fr", draft(Lang::Fr), 3..=9),
        ("synthetic-100x20", synthetic_bid(), 20..=120),
    ];
    for (name, proposal, sheets) in pages {
        let page = dir.join(format!("proposal-{name}.html"));
        let rendered = html::render(&proposal);
        std::fs::write(&page, &rendered).expect("write the page");
        check_layout(&browser, &dir, name, &rendered);

        let png_path = dir.join(format!("proposal-{name}.png"));
        run_browser(
            &browser,
            &dir,
            &[format!("--window-size={WIDTH},{HEIGHT}"), arg("--screenshot=", &png_path)],
            &page,
        );
        check_screenshot(&png_path);

        let pdf_path = dir.join(format!("proposal-{name}.pdf"));
        run_browser(&browser, &dir, &[arg("--print-to-pdf=", &pdf_path), "--no-pdf-header-footer".into()], &page);
        check_pdf(&pdf_path, sheets);
    }
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The example as it stood before its last answer: a draft with an offer still open.
fn draft(lang: Lang) -> Proposal {
    let inputs = inputs().expect("the example inputs");
    let events = &inputs.events[..inputs.events.len() - 2];
    let launched_at = match events.first() {
        Some(essaim_core::CampaignEvent::Launched { at, .. }) => *at,
        _ => panic!("the example starts with its launch"),
    };
    let proposal = inputs
        .proposal(events, true, GroupementKind::Conjoint, launched_at + chrono::Duration::hours(30), lang)
        .expect("the draft builds");
    assert_eq!(proposal.status, ProposalStatus::Draft);
    assert!(proposal.campaign.open_offers > 0, "the draft has an open offer");
    proposal
}

/// The 2 000-lot bid of the benchmark: 100 members, 20 lines; one member with the widest cells.
fn synthetic_bid() -> Proposal {
    let inputs = essaim_core::proposal::example::synthetic(100, 20).expect("the synthetic bid");
    let at = essaim_core::proposal::example::generated_at();
    let mut proposal = inputs.proposal(&inputs.events, true, GroupementKind::Conjoint, at, Lang::Fr).expect("builds");
    assert_eq!(proposal.totals.lots, 2000);
    // The widest cells a real bid has: a long name and the tag of a structure added for this tender only.
    proposal.members[1].name = "Propreté Solidaire de l'agglomération lyonnaise et du Beaujolais".into();
    proposal.members[1].joined_for_this_tender = true;
    proposal
}

/// A4 at 96 px per inch, as the browser lays the page out on screen.
const A4_WIDTH_PX: f64 = 210.0 / 25.4 * 96.0;

/// Lays the page out in the browser at the width of an A4 sheet and reads back where the map is: it is
/// there, drawn, and inside the sheet, and nothing makes the page wider than the sheet.
fn check_layout(browser: &Path, dir: &Path, name: &str, page: &str) {
    // A copy of the page with a probe writing the measures into the DOM, which --dump-dom prints. The
    // page itself has no script.
    let probe = r#"<script>(function () {
        var svg = document.querySelector('figure.map svg');
        var r = svg ? svg.getBoundingClientRect() : null;
        var sheet = document.querySelector('main.sheet');
        var inner = sheet.getBoundingClientRect().right - parseFloat(getComputedStyle(sheet).paddingRight);
        var overflow = 0;
        document.querySelectorAll('main.sheet table').forEach(function (t) {
            overflow = Math.max(overflow, t.getBoundingClientRect().right - inner);
        });
        document.body.setAttribute('data-probe', JSON.stringify({
            map: r ? [r.left, r.right, r.width, r.height] : null,
            tables_past_margin: overflow,
            scroll: document.documentElement.scrollWidth,
            viewport: window.innerWidth
        }));
    })();</script>"#;
    let probed = page.replacen("</body>", &format!("{probe}</body>"), 1);
    assert_ne!(probed, page, "the page has a </body>");
    let path = dir.join(format!("probe-{name}.html"));
    std::fs::write(&path, probed).expect("write the probe");
    let dom = dir.join(format!("probe-{name}.dom"));
    run_browser_to(
        browser,
        dir,
        &["--dump-dom".into(), format!("--window-size={},1123", A4_WIDTH_PX.round())],
        &path,
        &dom,
    );
    let dom = std::fs::read_to_string(&dom).expect("the dumped DOM");
    let start = dom.find("data-probe=\"").expect("the probe ran") + "data-probe=\"".len();
    let end = start + dom[start..].find('"').expect("the probe's end");
    let json = dom[start..end].replace("&quot;", "\"").replace("&amp;", "&");
    let probe: serde_json::Value = serde_json::from_str(&json).expect("the probe's JSON");
    eprintln!("{name}: layout {probe}");
    let viewport = probe["viewport"].as_f64().expect("viewport");
    assert!(probe["scroll"].as_f64().expect("scroll width") <= viewport + 0.5, "{name}: wider than the sheet: {probe}");
    let past = probe["tables_past_margin"].as_f64().expect("tables measured");
    assert!(past <= 0.5, "{name}: a table runs {past} px into the sheet's right margin: {probe}");
    let map: Vec<f64> =
        probe["map"].as_array().expect("the map is on the page").iter().filter_map(|v| v.as_f64()).collect();
    let (left, right, width, height) = (map[0], map[1], map[2], map[3]);
    assert!(left >= 0.0 && right <= viewport.min(A4_WIDTH_PX) + 0.5, "{name}: map from {left} to {right} px");
    assert!(width > 0.6 * viewport.min(A4_WIDTH_PX) && height > 100.0, "{name}: a map of {width} × {height} px");
}

fn arg(flag: &str, path: &Path) -> String {
    format!("{flag}{}", path.display())
}

fn find_browser() -> Option<PathBuf> {
    if let Some(b) = std::env::var_os("ESSAIM_CHROMIUM").filter(|b| !b.is_empty()) {
        return Some(PathBuf::from(b));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs the browser on `page` with its own profile in `dir`; kills it (and its helpers) after the timeout.
fn run_browser(browser: &Path, dir: &Path, extra: &[String], page: &Path) {
    run_browser_with(browser, dir, extra, page, Stdio::null());
}

/// [`run_browser`], its standard output written to `out`.
fn run_browser_to(browser: &Path, dir: &Path, extra: &[String], page: &Path, out: &Path) {
    let file = std::fs::File::create(out).expect("create the output file");
    run_browser_with(browser, dir, extra, page, Stdio::from(file));
}

fn run_browser_with(browser: &Path, dir: &Path, extra: &[String], page: &Path, stdout: Stdio) {
    let profile = dir.join("chromium-profile");
    let mut command = Command::new(browser);
    command
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-extensions", "--mute-audio"])
        .arg(arg("--user-data-dir=", &profile))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group, so that a hung browser is killed with all its helpers.
        command.process_group(0);
    }
    let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let started = Instant::now();
    let status = loop {
        match child.try_wait().expect("wait for the browser") {
            Some(status) => break status,
            None if started.elapsed() > BROWSER_TIMEOUT => {
                #[cfg(unix)]
                // `kill -KILL -PGID` is read by procps as « signal 9 to group KILL… »: spell it out.
                let _ = Command::new("kill").args(["-s", "KILL", "--", &format!("-{}", child.id())]).status();
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not finish within {BROWSER_TIMEOUT:?} (args {extra:?})", browser.display());
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    assert!(status.success(), "{} failed ({status}) with {extra:?}:\n{stderr}", browser.display());
}

/// A PNG of the requested size, with text and colour on it rather than a blank or single-colour page.
fn check_screenshot(path: &Path) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", path.display()));
    let mut decoder = png::Decoder::new(file);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("a valid PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    assert_eq!((info.width, info.height), (WIDTH, HEIGHT), "screenshot size");
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let total = (info.width * info.height) as usize;

    let mut colours = std::collections::HashSet::new();
    let (mut ink, mut paper, mut tinted) = (0usize, 0usize, 0usize);
    for px in pixels.chunks_exact(channels) {
        let (r, g, b) = if channels >= 3 { (px[0], px[1], px[2]) } else { (px[0], px[0], px[0]) };
        colours.insert((r >> 3, g >> 3, b >> 3));
        let luma = (299 * r as u32 + 587 * g as u32 + 114 * b as u32) / 1000;
        if luma < 110 {
            ink += 1;
        }
        if r == 255 && g == 255 && b == 255 {
            paper += 1;
        }
        // The accent colour (blue) shows: headings, the lead, badges.
        if b as i32 - r as i32 > 60 {
            tinted += 1;
        }
    }
    let share = |n: usize| n as f64 / total as f64;
    eprintln!(
        "{}: {} colours, text {:.3}, paper {:.3}, accent {:.4}",
        path.display(),
        colours.len(),
        share(ink),
        share(paper),
        share(tinted)
    );
    assert!(colours.len() >= 64, "only {} distinct colours: a blank or broken page", colours.len());
    assert!((0.01..0.30).contains(&share(ink)), "dark (text) pixels: {:.3} of the page", share(ink));
    assert!(share(paper) > 0.30, "white paper: {:.3} of the page", share(paper));
    assert!(share(tinted) > 0.002, "accent-coloured pixels: {:.4} of the page", share(tinted));
}

/// An A4 PDF of `sheets` pages.
fn check_pdf(path: &Path, sheets: std::ops::RangeInclusive<usize>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("no PDF at {}: {e}", path.display()));
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let text = String::from_utf8_lossy(&bytes);
    let pages = text
        .match_indices("/Type /Page")
        .filter(|(i, m)| !text[i + m.len()..].starts_with('s'))
        .count()
        .max(text.match_indices("/Type/Page").filter(|(i, m)| !text[i + m.len()..].starts_with('s')).count());
    assert!(sheets.contains(&pages), "{pages} pages in {}, expected {sheets:?}", path.display());

    let boxes: Vec<(f64, f64)> = text
        .match_indices("/MediaBox")
        .filter_map(|(i, m)| {
            let rest = text[i + m.len()..].trim_start().strip_prefix('[')?;
            let nums: Vec<f64> = rest.split(']').next()?.split_whitespace().filter_map(|n| n.parse().ok()).collect();
            (nums.len() == 4).then(|| (nums[2] - nums[0], nums[3] - nums[1]))
        })
        .collect();
    assert!(!boxes.is_empty(), "no MediaBox in {}", path.display());
    eprintln!("{}: {pages} pages, MediaBox {:?}", path.display(), boxes[0]);
    for (w, h) in boxes {
        assert!((w - 595.0).abs() < 2.0 && (h - 842.0).abs() < 2.0, "page of {w} × {h} points, not A4");
    }
}

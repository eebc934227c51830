//! A structure's capacity over time and across tenders: what it already holds elsewhere is taken off before
//! a tender is allocated, and what it won recently makes it a little less preferred (fairness).
//!
//! The rule, as a facilitator would read it: *a structure's capacity in a sector is what it can do at any
//! one time. Hours it holds on another tender — accepted, or offered and not yet answered — in the same
//! sector are taken off in full whenever that tender's period overlaps, even by one day, the period of a
//! line of this tender in that sector (a line without dates overlaps every period).*
//!
//! Counting an overlap in full rather than pro rata is deliberate: a pro-rata split assumes the work is
//! spread evenly over the period, which nobody can promise for a packaging run or a seasonal green-space
//! contract, and the cost of being wrong is a structure booked twice. It is conservative: a structure with
//! 400 h that holds 300 h for January–June is offered at most 100 h for a March–April line, even if the
//! 300 h are all worked in June. The facilitator sees it in `/capacite` and can raise the capacity.

use chrono::{DateTime, Duration, Utc};

use crate::{Holding, HoldingState, Sector, Tender, TenderRef, Window};

/// Hours `supplier` holds in `sector` on tenders other than `tender`, whose period overlaps the period of
/// at least one line of `tender` in that sector. 0 when `tender` has no line in the sector.
pub fn booked_elsewhere(holdings: &[Holding], tender: &Tender, supplier: &str, sector: &Sector) -> f64 {
    let windows: Vec<Option<&Window>> =
        tender.lines.iter().filter(|l| &l.sector == sector).map(|l| l.window.as_ref()).collect();
    if windows.is_empty() {
        return 0.0;
    }
    holdings
        .iter()
        .filter(|h| h.tender != tender.reference && h.supplier == supplier && &h.sector == sector)
        .filter(|h| windows.iter().any(|w| Window::may_overlap(h.window.as_ref(), *w)))
        .map(|h| h.quantity)
        .sum()
}

/// How long accepted lots count toward a structure's recent volume.
pub const RECENT_PERIOD_DAYS: i64 = 365;

/// Units `supplier` accepted over the last 12 months on tenders other than `except`, any sector: the
/// ρ_s of the fairness term.
pub fn recent_volume(holdings: &[Holding], supplier: &str, except: &TenderRef, now: DateTime<Utc>) -> f64 {
    let since = now - Duration::days(RECENT_PERIOD_DAYS);
    holdings
        .iter()
        .filter(|h| h.supplier == supplier && &h.tender != except)
        .filter(|h| h.state == HoldingState::Accepted && h.since >= since && h.since <= now)
        .map(|h| h.quantity)
        .sum()
}

/// Hours a structure holds in a sector that are not finished by `today`: work whose period ends today or
/// later, or has no period. What `/capacite` shows as taken.
pub fn held_from(holdings: &[Holding], supplier: &str, sector: &Sector, today: chrono::NaiveDate) -> f64 {
    holdings
        .iter()
        .filter(|h| h.supplier == supplier && &h.sector == sector)
        .filter(|h| h.window.is_none_or(|w| w.end >= today))
        .map(|h| h.quantity)
        .sum()
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;
    use crate::{Buyer, GeoPoint, TenderLine};

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, m, d).expect("valid date")
    }

    fn tender(reference: &str, windows: &[Option<(NaiveDate, NaiveDate)>]) -> Tender {
        let site = GeoPoint::new(45.7, 4.8).expect("valid");
        let lines = windows
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let sector = Sector::parse("s", "nettoyage").expect("valid");
                let mut line =
                    TenderLine::new("l", &format!("L{i}"), sector, 100.0, "h", site, None, None).expect("valid line");
                line.window = w.map(|(start, end)| Window { start, end });
                line
            })
            .collect();
        let reference = TenderRef::parse("ref", reference).expect("valid");
        Tender::new(reference, "t", Buyer::named("B", None), None, None, lines).expect("valid")
    }

    fn holding(tender: &str, quantity: f64, window: Option<(NaiveDate, NaiveDate)>, state: HoldingState) -> Holding {
        Holding {
            tender: TenderRef::parse("ref", tender).expect("valid"),
            offer: 1,
            line: "L1".into(),
            supplier: "S".into(),
            sector: Sector::parse("s", "nettoyage").expect("valid"),
            quantity,
            state,
            window: window.map(|(start, end)| Window { start, end }),
            since: Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).single().expect("valid"),
        }
    }

    #[test]
    fn an_overlap_of_one_day_counts_in_full_and_a_line_without_dates_overlaps_everything() {
        let sector = Sector::parse("s", "nettoyage").expect("valid");
        let this = tender("T-2", &[Some((day(3, 1), day(4, 30)))]);
        let holdings = vec![
            holding("T-1", 300.0, Some((day(1, 1), day(3, 1))), HoldingState::Accepted), // one day: counts
            holding("T-3", 50.0, Some((day(5, 1), day(6, 30))), HoldingState::Offered),  // after: does not
            holding("T-4", 20.0, None, HoldingState::Offered),                           // no dates: counts
            holding("T-2", 70.0, Some((day(3, 1), day(4, 30))), HoldingState::Accepted), // this tender: not
        ];
        assert_eq!(booked_elsewhere(&holdings, &this, "S", &sector), 320.0);
        assert_eq!(booked_elsewhere(&holdings, &this, "other", &sector), 0.0);
        let undated = tender("T-2", &[None]);
        assert_eq!(booked_elsewhere(&holdings, &undated, "S", &sector), 370.0);
        let elsewhere = Sector::parse("s", "logistique").expect("valid");
        assert_eq!(booked_elsewhere(&holdings, &this, "S", &elsewhere), 0.0, "no line of T-2 in logistique");
    }

    #[test]
    fn recent_volume_counts_accepted_lots_of_the_last_twelve_months_on_other_tenders() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().expect("valid");
        let mut old = holding("T-1", 500.0, None, HoldingState::Accepted);
        old.since = now - Duration::days(400);
        let holdings = vec![
            holding("T-1", 300.0, None, HoldingState::Accepted),
            holding("T-3", 40.0, None, HoldingState::Offered),
            holding("T-2", 70.0, None, HoldingState::Accepted),
            old,
        ];
        let this = TenderRef::parse("ref", "T-2").expect("valid");
        assert_eq!(recent_volume(&holdings, "S", &this, now), 300.0);
    }
}

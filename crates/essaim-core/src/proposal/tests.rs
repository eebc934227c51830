use super::example::example;
use super::*;

#[test]
fn example_builds() {
    let p = example(Lang::Fr).expect("example builds");
    assert_eq!(p.status, ProposalStatus::Final);
}


//! Patched in for essaim: a basic variable's tableau row as multipliers of the constraints (change 7),
//! several constraints added at once (change 8).
#[cfg(test)]
mod tests_essaim {
    use crate::*;

    #[test]
    fn tableau_row_weights_sum_the_rows_into_the_basic_variable_alone() {
        // max x + y, two tight rows (the first scaled down by the solver's equilibration), a loose one.
        let mut problem = Problem::new(OptimizationDirection::Minimize);
        let x = problem.add_var(-1.0, (0.0, 10.0));
        let y = problem.add_var(-1.0, (0.0, 10.0));
        let z = problem.add_var(1.0, (0.0, 10.0));
        let rows: [([f64; 3], ComparisonOp, f64); 3] = [
            ([300.0, 100.0, 0.0], ComparisonOp::Le, 1200.0),
            ([1.0, 3.0, 1.0], ComparisonOp::Le, 9.0),
            ([1.0, -1.0, 0.0], ComparisonOp::Ge, -10.0),
        ];
        for (coefficients, op, rhs) in rows {
            let mut expr = LinearExpr::empty();
            for (var, a) in [x, y, z].into_iter().zip(coefficients) {
                expr.add(var, a);
            }
            problem.add_constraint(expr, op, rhs);
        }
        let Ok(SolveOutcome::Solution(mut solution)) = problem.solve() else {
            panic!("the LP solves");
        };
        assert!((solution[x] - 3.375).abs() < 1e-9 && (solution[y] - 1.875).abs() < 1e-9);
        for (var, value) in [(x, 3.375), (y, 1.875)] {
            let weights = solution.tableau_row(var).expect("a variable strictly inside its bounds is basic");
            let mut sum = [0.0; 3];
            let mut rhs = 0.0;
            for &(r, lambda) in &weights {
                assert!(r < 2 || lambda.abs() < 1e-12, "the loose row's slack is basic: no weight on it");
                for (s, a) in sum.iter_mut().zip(rows[r].0) {
                    *s += lambda * a;
                }
                rhs += lambda * rows[r].2;
            }
            // The row reads var + (weights)·z (+ slacks at 0) = rhs: 1 on var, 0 on the other basic one.
            let own = if var == x { 0 } else { 1 };
            assert!((sum[own] - 1.0).abs() < 1e-9, "{sum:?}");
            assert!(sum[1 - own].abs() < 1e-9, "{sum:?}");
            assert!((rhs - value).abs() < 1e-9, "{rhs} against {value}");
        }
        assert!(solution.tableau_row(z).is_none(), "z sits at its bound: not basic");
    }

    #[test]
    fn constraints_added_at_once_give_the_lp_they_give_one_by_one() {
        let mut problem = Problem::new(OptimizationDirection::Minimize);
        let vars: Vec<Variable> = (0..4).map(|i| problem.add_var(-1.0 - i as f64, (0.0, 10.0))).collect();
        let mut all = LinearExpr::empty();
        for &v in &vars {
            all.add(v, 1.0);
        }
        problem.add_constraint(all, ComparisonOp::Le, 25.0);
        let cuts: Vec<(Vec<f64>, ComparisonOp, f64)> = vec![
            (vec![1.0, 1.0, 0.0, 0.0], ComparisonOp::Ge, 8.0),
            (vec![0.0, 0.0, 256.0, 512.0], ComparisonOp::Le, 3072.0),
            (vec![0.0, 1.0, 0.0, 1.0], ComparisonOp::Eq, 9.0),
        ];
        let expr = |coefficients: &[f64]| {
            let mut expr = LinearExpr::empty();
            for (&v, &a) in vars.iter().zip(coefficients) {
                expr.add(v, a);
            }
            expr
        };
        let solved = |outcome: Result<SolveOutcome, Error>| match outcome {
            Ok(SolveOutcome::Solution(solution)) => solution,
            other => panic!("the LP solves: {other:?}"),
        };
        let mut one_by_one = solved(problem.solve());
        for (coefficients, op, rhs) in &cuts {
            one_by_one = solved(one_by_one.add_constraint(expr(coefficients), *op, *rhs));
        }
        let at_once = solved(solved(problem.solve()).add_constraints(
            cuts.iter().map(|(coefficients, op, rhs)| (expr(coefficients), *op, *rhs)),
        ));
        assert!((at_once.objective() - one_by_one.objective()).abs() < 1e-9);
        // The optimum: x = (6, 8, 10, 1), the sum and the equation tight.
        assert!((at_once.objective() - -(6.0 + 2.0 * 8.0 + 3.0 * 10.0 + 4.0 * 1.0)).abs() < 1e-9, "{}", at_once.objective());
        for (coefficients, op, rhs) in &cuts {
            let lhs: f64 = vars.iter().zip(coefficients).map(|(&v, a)| a * at_once[v]).sum();
            let holds = match op {
                ComparisonOp::Le => lhs <= rhs + 1e-9,
                ComparisonOp::Ge => lhs >= rhs - 1e-9,
                ComparisonOp::Eq => (lhs - rhs).abs() < 1e-9,
            };
            assert!(holds, "{lhs} {op:?} {rhs}");
        }
        // A constraint with no term that holds is no constraint; the others still count.
        let again = solved(solved(problem.solve()).add_constraints(
            std::iter::once((LinearExpr::empty(), ComparisonOp::Le, 1.0))
                .chain(cuts.iter().map(|(coefficients, op, rhs)| (expr(coefficients), *op, *rhs))),
        ));
        assert!((again.objective() - at_once.objective()).abs() < 1e-9);
    }
}

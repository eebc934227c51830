//! Patched in for essaim: a basic variable's tableau row as multipliers of the constraints.
#[cfg(test)]
mod tests_tableau {
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
}

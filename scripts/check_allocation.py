#!/usr/bin/env python3
"""Independent check of `essaim allocate`: rebuilds the MILP of DESIGN.md §3 from the input with HiGHS
(pip install highspy), then checks that essaim's output satisfies every constraint and reaches the same
optimum (relative 1e-6). Usage: check_allocation.py INPUT.json OUTPUT.json"""
import json, math, sys
import highspy
import numpy as np

R = 6371.0
def hav(a, b):
    la1, la2 = math.radians(a["lat"]), math.radians(b["lat"])
    dla, dlo = la2 - la1, math.radians(b["lon"] - a["lon"])
    h = math.sin(dla / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(dlo / 2) ** 2
    return 2 * R * math.asin(min(1.0, math.sqrt(h)))

inp = json.load(open(sys.argv[1])); out = json.load(open(sys.argv[2]))
w = {"per_unit_km": 1.0, "per_lot": 50.0, "per_unit_shortfall": 10000.0}; w.update(inp.get("weights") or {})
lines = {l["id"]: l for l in inp["lines"]}; sups = {s["id"]: s for s in inp["suppliers"]}
fixed = {(f["line"], f["supplier"]): f["quantity"] for f in inp.get("fixed", [])}
excl = {(e["line"], e["supplier"]) for e in inp.get("excluded", [])}
pairs = []
for l in inp["lines"]:
    for s in inp["suppliers"]:
        c = s["capacity"].get(l["sector"], 0)
        d = hav(s["location"], l["site"])
        if (l["id"], s["id"]) in fixed: pairs.append((l["id"], s["id"], d)); continue
        if d <= s["max_distance_km"] and c > 0 and (l["id"], s["id"]) not in excl:
            pairs.append((l["id"], s["id"], d))
h = highspy.Highs(); h.setOptionValue("output_flag", False); h.setOptionValue("mip_rel_gap", 1e-9)
inf = highspy.kHighsInf
idx = {}
for (l, s, d) in pairs:
    ub = min(sups[s]["capacity"].get(lines[l]["sector"], 0), lines[l].get("max_share", 1.0) * lines[l]["quantity"])
    xi = h.numVariables; h.addVar(0, inf); h.changeColCost(xi, w["per_unit_km"] * d)
    yi = h.numVariables; h.addVar(0, 1); h.changeColCost(yi, w["per_lot"]); h.changeColIntegrality(yi, highspy.HighsVarType.kInteger)
    idx[(l, s)] = (xi, yi)
    if (l, s) in fixed:
        q = fixed[(l, s)]; h.changeColBounds(xi, q, q); h.changeColBounds(yi, 1, 1)
    else:
        h.addRow(-inf, 0, 2, np.array([xi, yi], dtype=np.int32), np.array([1.0, -ub]))
        m = sups[s].get("min_lot", 0)
        if m > 0: h.addRow(0, inf, 2, np.array([xi, yi], dtype=np.int32), np.array([1.0, -m]))
uidx = {}
for l in inp["lines"]:
    ui = h.numVariables; h.addVar(0, inf); h.changeColCost(ui, w["per_unit_shortfall"]); uidx[l["id"]] = ui
    cols = [idx[p][0] for p in idx if p[0] == l["id"]] + [ui]
    h.addRow(l["quantity"], l["quantity"], len(cols), np.array(cols, dtype=np.int32), np.ones(len(cols)))
for s in inp["suppliers"]:
    for k, c in s["capacity"].items():
        cols = [idx[p][0] for p in idx if p[1] == s["id"] and lines[p[0]]["sector"] == k]
        if cols: h.addRow(-inf, c, len(cols), np.array(cols, dtype=np.int32), np.ones(len(cols)))
h.run()
ref = h.getInfo().objective_function_value
# --- check essaim's output
eps = 1e-5; errors = []
got = {(x["line"], x["supplier"]): x["quantity"] for x in out["lots"]}
short = {x["line"]: x["quantity"] for x in out["shortfall"]}
obj = 0.0
for (l, s), q in got.items():
    if (l, s) not in idx: errors.append(f"lot {l}/{s} is not an allowed pair"); continue
    L, S = lines[l], sups[s]; d = hav(S["location"], L["site"])
    obj += w["per_unit_km"] * d * q + w["per_lot"]
    if (l, s) in fixed:
        if abs(q - fixed[(l, s)]) > eps: errors.append(f"fixed lot {l}/{s} changed")
        continue
    if q < S.get("min_lot", 0) - eps: errors.append(f"lot {l}/{s} {q} under min lot")
    if q > L.get("max_share", 1.0) * L["quantity"] + eps: errors.append(f"lot {l}/{s} over max share")
for (l, s) in fixed:
    if (l, s) not in got: errors.append(f"fixed lot {l}/{s} missing")
for l in inp["lines"]:
    tot = sum(q for (ll, _), q in got.items() if ll == l["id"]) + short.get(l["id"], 0)
    if abs(tot - l["quantity"]) > eps: errors.append(f"line {l['id']}: lots+shortfall {tot} != {l['quantity']}")
    obj += w["per_unit_shortfall"] * short.get(l["id"], 0)
for s in inp["suppliers"]:
    for k, c in s["capacity"].items():
        tot = sum(q for (l, ss), q in got.items() if ss == s["id"] and lines[l]["sector"] == k)
        if tot > c + eps: errors.append(f"supplier {s['id']} over capacity in {k}: {tot} > {c}")
rel = abs(obj - ref) / max(1.0, abs(ref))
if abs(out["objective"] - obj) / max(1.0, abs(obj)) > 1e-6: errors.append(f"reported objective {out['objective']} != recomputed {obj}")
if rel > 1e-6: errors.append(f"objective {obj} vs HiGHS {ref} (rel {rel:.2e})")
print(f"{sys.argv[1]}: essaim {obj:.6f} HiGHS {ref:.6f} rel {rel:.1e} status {out['status']} -> {'OK' if not errors else 'FAIL'}")
for e in errors[:10]: print("  ", e)
sys.exit(1 if errors else 0)

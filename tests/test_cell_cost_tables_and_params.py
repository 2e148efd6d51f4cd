"""The cost side of a cell model: the SPICE energy tables of curves.h5 reach cell.h5 and
cellmodel returns them; the declared parameters come back with their sources; bad input is
one line; gcsim validate sets the pattern energy against SPICE.

Characterizes silicon on the coarse test plan, fits a cell, then checks:
- cellmodel returns every stored grid point of each energy table exactly (1e-12 relative:
  the interpolants pass through their points, so only rounding separates them): read supply
  energy per (pulse level, stored voltage), charge-to-pulse and readout energy per charge,
  write energy per (previous, new) level, the idle power; and halfway between two pulse
  levels the read energy is the mean of the two rows (linear in the pulse, as the charge);
  a cell file without /energy says it holds no energies (and its energies are 0);
- the tables themselves are physical: a read's energy grows with the pulse at every stored
  voltage, writing up costs more than writing down from the same level;
- every parameter the cost accounting looks up is present; a declared one equals its
  technology value in curves.h5 /params (a power: times vdd) and names that parameter and
  its source; the simulated ones are positive and the standard cells' toggle energies rank
  inverter < NAND2 < flip-flop;
- a .tech value out of range, a table of the wrong shape and a parameter whose simulated
  flag is not 0 or 1 each give one line naming the file and the object;
- validate.json of a 64-cell column carries energy_rms_pct and energy_max_pct, each within
  the 5 % target per pattern.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

from gcsim_test import ROOT, fail, run

PLAN = os.path.join(ROOT, "data", "sweeps", "test.plan")
QUERY = sys.argv[1]
NAMES = ["t_write_s", "t_max_s", "t_c2p_s", "t_readout_s", "t_write_settle_s",
         "t_digital_sum_s", "p_integrator_bias_w", "p_comparator_bias_w", "p_reference_bias_w",
         "e_dac_conversion_j", "e_toggle_inv_j", "e_toggle_nand2_j", "e_toggle_dff_j",
         "e_digital_overhead_token_head_j", "area_cell_m2", "area_column_periphery_m2",
         "area_counter_bit_m2", "area_adder_bit_m2", "area_dac_m2"]
# cost name -> (technology parameter, times vdd) for the ones copied from the .tech file
DECLARED = {"t_write_s": ("t_write", 0), "t_max_s": ("t_max", 0),
            "p_integrator_bias_w": ("i_bias_int", 1), "p_comparator_bias_w": ("i_bias_cmp", 1),
            "p_reference_bias_w": ("i_bias_ref", 1), "e_dac_conversion_j": ("e_dac_conversion", 0),
            "e_digital_overhead_token_head_j": ("e_digital_overhead", 0),
            "area_counter_bit_m2": ("area_counter_bit", 0), "area_adder_bit_m2": ("area_adder_bit", 0),
            "area_dac_m2": ("area_dac", 0)}
REL = 1e-12


def query(cell, lines, check=True):
    p = subprocess.run([QUERY, cell], input="".join(l + "\n" for l in lines),
                       capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        fail(f"cell_cost_query {cell} failed: {p.stderr}")
    return p


def numbers(cell, lines):
    return np.array([float(x) for x in query(cell, lines).stdout.split()])


def close(got, want, what):
    err = np.abs(got - want) / np.maximum(np.abs(want), 1e-300)
    print(f"{what}: {len(want)} points, worst relative difference {err.max():.2e}")
    if err.max() > REL:
        fail(f"{what}: cellmodel differs from the stored table by {err.max():.3g} (relative)")


def tables(cell):
    with h5py.File(cell, "r") as f:
        en = f["energy"]
        pf, vs = f["read/pulse_frac"][()], f["read/v_store"][()]
        tab = en["read_supply"][()]
        qs = [f"read {p!r} {v!r}" for p in pf for v in vs]
        close(numbers(cell, qs), tab.ravel(), "read supply energy at the grid")
        if not np.all(np.diff(tab, axis=0) > 0):
            fail("a read's supply energy does not grow with the pulse at every stored voltage")
        mid = [f"read {(pf[0] + pf[1]) / 2!r} {v!r}" for v in vs]
        close(numbers(cell, mid), (tab[0] + tab[1]) / 2, "read energy between two pulse levels")
        for kind in ("c2p", "readout"):
            q, e = en[kind + "_charge"][()], en[kind + "_energy"][()]
            close(numbers(cell, [f"{kind} {x!r}" for x in q]), e, f"{kind} energy at the grid")
        w = en["write_energy"][()]
        k = w.shape[0]
        close(numbers(cell, [f"write {a} {b}" for a in range(k) for b in range(k)]), w.ravel(),
              "write energy per (previous, new) level")
        if not all(w[0, b] > w[b, 0] for b in range(1, k)):
            fail("writing up from level 0 does not cost more than writing down to it")
        close(numbers(cell, ["idle"]), en["idle_power_cell"][()], "idle power")
        print("ranges: read at full pulse %.3g..%.3g fJ, c2p %.3g pJ, readout %.3g pJ, write "
              "%.3g..%.3g fJ, idle %.3g pW" % (tab[-1].min() * 1e15, tab[-1].max() * 1e15,
                                              en["c2p_energy"][()].mean() * 1e12,
                                              en["readout_energy"][()].mean() * 1e12,
                                              w.min() * 1e15, w.max() * 1e15,
                                              en["idle_power_cell"][0] * 1e12))
    if list(numbers(cell, ["simulated", "has_energy"])) != [1, 1]:
        fail("a cell fitted from SPICE curves does not say its energies are simulated")
    bare = cell.replace(".h5", "_bare.h5")
    shutil.copy(cell, bare)
    with h5py.File(bare, "a") as f:
        del f["energy"]
    if list(numbers(bare, ["has_energy", "simulated", "read 1 0.9"])) != [0, 0, 0]:
        fail("a cell file without /energy does not say it holds no energies")


def params(cell, curves):
    out = query(cell, ["params"]).stdout.splitlines()
    got = {}
    for line in out[:-1]:
        name, value, sim, unit, source = line.split("\t")
        got[name] = (float(value), int(sim), unit, source)
    missing = [n for n in NAMES if n not in got]
    if missing:
        fail(f"cost parameters missing from the cell: {missing}")
    with h5py.File(curves, "r") as f:
        vdd = f["params/vdd"][0]
        for name, (tech, times_vdd) in DECLARED.items():
            want = f["params/" + tech][0] * (vdd if times_vdd else 1)
            value, sim, _, source = got[name]
            desc = f["params/" + tech].attrs["description"]
            desc = desc.decode() if isinstance(desc, bytes) else desc
            if sim != 0 or abs(value - want) > REL * abs(want) or tech not in source or \
                    desc not in source:
                fail(f"{name}: {value} (simulated {sim}, source '{source}') is not the "
                     f"declared {tech} = {want} with its source")
        # the word-line wire per cell pitch and pulse: 2 vdd c_wl_seg (v_in - vdd/2)
        want = 2 * vdd * f["params/c_wl_seg"][0] * (f["params/v_in"][0] - vdd / 2)
        if abs(got["e_wordline_cell_j"][0] - want) > REL * want:
            fail(f"e_wordline_cell_j {got['e_wordline_cell_j'][0]} is not 2 vdd c_wl_seg "
                 f"(v_in - vdd/2) = {want}")
    for name, (value, sim, unit, source) in got.items():
        if not source or not unit:
            fail(f"{name} has no unit or source")
        if sim == 1 and not (value > 0 and source.startswith("simulated")):
            fail(f"{name}: simulated but {value} / '{source}'")
    e = [got["e_toggle_" + c + "_j"][0] for c in ("inv", "nand2", "dff")]
    print("toggle energies inv %.3g fJ, nand2 %.3g fJ, dff %.3g fJ; t_write_settle %.3g ns, "
          "t_c2p %.4g ns, t_digital_sum %.3g ns" % (e[0] * 1e15, e[1] * 1e15, e[2] * 1e15,
                                                   got["t_write_settle_s"][0] * 1e9,
                                                   got["t_c2p_s"][0] * 1e9,
                                                   got["t_digital_sum_s"][0] * 1e9))
    if not (0 < e[0] < e[1] < e[2]):
        fail("standard-cell toggle energies do not rank inverter < NAND2 < flip-flop")
    if not all(got["e_toggle_" + c + "_j"][1] == 1 for c in ("inv", "nand2", "dff")):
        fail("standard-cell toggle energies are not marked simulated")


def one_line(p, what, *needles):
    msg = p.stderr.strip()
    if p.returncode == 0 or "\n" in msg or not all(n in msg for n in needles):
        fail(f"{what}: expected one line naming {needles}, got ({p.returncode}) '{msg}'")
    print(f"{what}: {msg}")


def bad_input(tmp, cell):
    p = run("characterize", "--tech", "si", "--set", "i_bias_int=-1", "--out",
            os.path.join(tmp, "never.h5"), check=False)
    one_line(p, "--set out of range", "i_bias_int", "outside")
    tech = os.path.join(tmp, "bad.tech")
    with open(os.path.join(ROOT, "spice", "tech", "si.tech")) as f:
        text = f.read()
    card = os.path.abspath(os.path.join(ROOT, "spice", "models", "si40lp.lib"))
    text = text.replace("../models/si40lp.lib", card)
    with open(tech, "w") as f:
        f.write(text.replace("param e_dac_conversion 2.578e-12", "param e_dac_conversion -1"))
    p = run("characterize", "--tech", tech, "--out", os.path.join(tmp, "never.h5"), check=False)
    one_line(p, "bad .tech value", tech, "e_dac_conversion")
    shape = os.path.join(tmp, "shape.h5")
    shutil.copy(cell, shape)
    with h5py.File(shape, "a") as f:
        t = f["energy/read_supply"][()]
        del f["energy/read_supply"]
        f["energy/read_supply"] = t[:-1]
    one_line(query(shape, ["idle"], check=False), "table of the wrong shape", shape,
             "/energy/read_supply")
    flag = os.path.join(tmp, "flag.h5")
    shutil.copy(cell, flag)
    with h5py.File(flag, "a") as f:
        f["cost/area_dac_m2"].attrs["simulated"] = 2.0
    one_line(query(flag, ["idle"], check=False), "simulated flag not 0 or 1", flag,
             "/cost/area_dac_m2", "simulated")


def validate_energy(tmp, cell):
    out = os.path.join(tmp, "val")
    run("validate", "--cell", cell, "--tech", "si", "--samples", "3", "--seed", "3",
        "--jobs", "2", "--out", out)
    with open(os.path.join(out, "validate.json")) as f:
        r = json.load(f)
    for k in ("energy_rms_pct", "energy_max_pct"):
        if k not in r:
            fail(f"validate.json has no key {k}")
    print("validate, 64-cell column, 3 patterns: energy RMS %.3g %%, max %.3g %% (reads alone "
          "%.3g %%, max %.3g %%)" % (r["energy_rms_pct"], r["energy_max_pct"],
                                     r["energy_read_rms_pct"], r["energy_read_max_pct"]))
    if r["energy_max_pct"] > 5:
        fail("a pattern's energy differs from SPICE by more than 5 %")


def main():
    tmp = tempfile.mkdtemp(prefix="gcsim_cost_")
    curves, cell = os.path.join(tmp, "curves.h5"), os.path.join(tmp, "cell.h5")
    run("characterize", "--plan", PLAN, "--jobs", "2", "--tech", "si", "--out", curves)
    run("fit", "--curves", curves, "--out", cell)
    tables(cell)
    params(cell, curves)
    bad_input(tmp, cell)
    validate_energy(tmp, cell)
    shutil.rmtree(tmp)
    print("ok")


if __name__ == "__main__":
    main()

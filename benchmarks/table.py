"""The table `make bench` prints: one row per attack and precision, and the evaluation pass."""

from __future__ import annotations


def _cell(value, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def table(rows: list[dict], evaluation: dict | None, skipped: str | None = None) -> str:
    head = (f"{'attack':<13}{'precision':<10}{'framework s':>12}{'hand s':>10}{'floor s':>10}{'bf16 floor s':>13}"
            f"{'fw/hand':>9}{'fw/floor':>10}{'hand/floor':>11}{'best fw/hand':>14}{'best fw/floor':>15}"
            f"{'whole s':>10}{'whole/train':>12}  note")
    lines = [head, "-" * len(head)]
    for r in rows:
        note = f"hand loop: {r['hand_attack']}"
        if r["precision"] == "fast":
            note += f"; fw/own floor {r['framework_over_own_floor']:.2f}"
        if r["extrapolated"]:
            note += f"; timed on {r['timed_images']} of {r['images']} images, extrapolated"
        lines.append(
            f"{r['attack']:<13}{r['precision']:<10}{r['framework_s']:>12.3f}{r['hand_s']:>10.3f}{r['floor_s']:>10.3f}"
            f"{_cell(r['floor_bf16_s'], 13, 3)}"
            f"{r['framework_over_hand']:>9.2f}{r['framework_over_floor']:>10.2f}{r['hand_over_floor']:>11.2f}"
            f"{r['framework_over_hand_best']:>14.2f}{r['framework_over_floor_best']:>15.2f}"
            f"{_cell(r.get('whole_s'), 10, 3)}{_cell(r.get('whole_over_train'), 12, 3)}  {note}"
        )
    if evaluation:
        lines.append(
            f"{'eval':<13}{'float32':<10}{evaluation['framework_s']:>12.3f}{evaluation['hand_s']:>10.3f}{'-':>10}{'-':>13}"
            f"{evaluation['framework_s'] / evaluation['hand_s']:>9.2f}{'-':>10}{'-':>11}"
            f"{min(evaluation['framework_repeats_s'][1:]) / min(evaluation['hand_repeats_s'][1:]):>14.2f}{'-':>15}"
            f"{'-':>10}{'-':>12}  one pass over {evaluation['images']} test images, batch {evaluation['eval_batch_size']}"
        )
    if skipped:
        lines.append(f"note: {skipped}")
    return "\n".join(lines)

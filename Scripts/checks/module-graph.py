#!/usr/bin/env python3
"""Checks that the module graph drawn in README.md ("## Layout": `← dependencies` after each
target) is the one Package.swift declares (`swift package dump-package`), for every target of
this package. Prints the differences and exits 1 if there are any."""
import json, re, subprocess, sys

package = json.loads(subprocess.run(["swift", "package", "dump-package"], capture_output=True, text=True, check=True).stdout)
ours = {t["name"] for t in package["targets"] if t["type"] != "test"}
declared = {}
for target in package["targets"]:
    if target["type"] == "test":
        continue
    names = set()
    for dependency in target["dependencies"]:
        kind, value = next(iter(dependency.items()))
        names.add(value[0])
    declared[target["name"]] = {n for n in names if n in ours}

readme = open("README.md").read()
layout = readme.split("## Layout", 1)[1].split("```", 2)[1]
drawn, current, text = {}, [], {}
for line in layout.splitlines():
    match = re.match(r"^  (\S[^ ]*(?:, \S+/)*)\s{2,}", line)
    if match:
        current = [name.strip().rstrip("/") for name in match.group(1).split(",")]
        for name in current:
            text[name] = ""
    for name in current:
        text[name] += " " + line
for name, body in text.items():
    if "←" in body:
        after = body.split("←", 1)[1]
        drawn[name] = {word for word in re.findall(r"[A-Za-z][A-Za-z0-9]*", after) if word in ours}
    else:
        drawn[name] = set()

problems = []
for name in sorted(ours):
    if name not in drawn:
        problems.append(f"{name}: in Package.swift but not drawn in README.md")
    elif drawn[name] != declared[name]:
        problems.append(f"{name}: README.md draws {sorted(drawn[name])}, Package.swift declares {sorted(declared[name])}")
for name in sorted(set(drawn) - ours - {"Tests", "Deploy", "Scripts", "docs", "Sources"}):
    problems.append(f"{name}: drawn in README.md but not a target")
for problem in problems:
    print(problem)
print(f"module graph: {len(ours)} targets, {len(problems)} differences")
sys.exit(1 if problems else 0)

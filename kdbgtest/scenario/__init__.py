"""The scenario language: model, YAML loading with positions, validation, variables and the JSON Schema.

The API other layers use:

- `loader.load_paths(paths) -> LoadResult(scenarios, issues)`: every scenario file named or found under the
  paths (`**/*.yaml`, `**/*.yml`; Kubernetes manifests and hidden directories skipped), validated.
- `loader.load_file(path) -> LoadedScenario`, raising `issues.ScenarioIssues` (a `ScenarioError`).
- `loader.check_file(path) -> (LoadedScenario | None, list[ScenarioIssue])`; `loader.discover(paths)`.
- `LoadedScenario`: `.path`, `.scenario` (`model.Scenario`), `.name`, `.line`, `.all_steps()`,
  `.step_location(step) -> (line, col)`, `.step_line(index)`, `.step_label(step)`, `.where(step)`.
- `issues.ScenarioIssue(path, line, col, message)`, printed as `path:line:col: message`.
- `variables.Variables(builtins, scenario_vars)`, `.capture(groups)`, `variables.substitute(value, vars)`,
  `variables.substitute_regex(pattern, vars)`, `variables.BUILTINS`, `variables.DEBUG_CAPTURES`.
- `schema.json_schema() -> dict`, `schema.json_schema_text() -> str`.
"""

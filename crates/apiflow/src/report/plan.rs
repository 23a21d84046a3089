//! `apiflow plan`: every step's request rendered as far as it can be without sending anything,
//! and the data flow — which step defines each variable and which steps use it.

use std::fmt::Write as _;
use std::sync::Arc;

use minijinja::Value as JinjaValue;

use crate::check::validate::{Plan, RESPONSE_NAMES, step_templates, value_templates};
use crate::format::model::{
    Action, Auth, Body, Next, OnFailure, PartValue, Step, TemplateId, Text, Value,
};
use crate::secret::{MASK, Masker};
use crate::template::functions::SECRET_FUNCTIONS;
use crate::template::scope::Variables;

/// Where a name comes from.
enum Definer {
    Input,
    Var,
    Step(String),
}

/// Renders the plan of a validated workflow; secrets are masked.
pub fn render(plan: &Plan, inputs: Variables) -> String {
    let workflow = &plan.workflow;
    let mut masker = Masker::new();
    let mut variables = inputs;
    for input in &workflow.inputs {
        let value = variables
            .get(&input.name.value)
            .and_then(|v| v.as_str().map(str::to_owned));
        if let Some(text) = value.filter(|t| !t.starts_with("<input "))
            && variables.is_secret(&input.name.value)
        {
            masker.add(&text);
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan: {} ({})",
        workflow.name.value, workflow.source.name
    );
    if !workflow.inputs.is_empty() {
        let width = workflow
            .inputs
            .iter()
            .map(|i| i.name.value.len())
            .max()
            .unwrap_or(0);
        out.push_str("\ninputs\n");
        for input in &workflow.inputs {
            let value = variables
                .get(&input.name.value)
                .map(show)
                .unwrap_or_default();
            let from = input
                .env
                .as_ref()
                .map(|e| format!("  (env {})", e.value))
                .unwrap_or_default();
            let _ = writeln!(out, "  {:<width$} = {value}{from}", input.name.value);
        }
    }
    let mut definers: Vec<(String, Definer)> = workflow
        .inputs
        .iter()
        .map(|i| (i.name.value.clone(), Definer::Input))
        .collect();
    if !workflow.vars.is_empty() {
        out.push_str("\nvars\n");
        let width = workflow
            .vars
            .iter()
            .map(|v| v.name.value.len())
            .max()
            .unwrap_or(0);
        for var in &workflow.vars {
            let ctx = JinjaValue::from_dyn_object(Arc::new(variables.clone()));
            let value = render_value(plan, &var.value, &ctx);
            let reads_secret = value_templates(&var.value).iter().any(|id| {
                plan.templates
                    .reads(*id)
                    .iter()
                    .any(|n| variables.is_secret(n))
            });
            let secret = var.secret || reads_secret;
            if let Some(text) = value.as_str().filter(|_| secret) {
                masker.add(text);
            }
            let _ = writeln!(
                out,
                "  {:<width$} = {}",
                var.name.value,
                show(&JinjaValue::from(minijinja::value::Serde(&value)))
            );
            variables.set(
                &var.name.value,
                JinjaValue::from(minijinja::value::Serde(&value)),
                secret,
            );
            definers.push((var.name.value.clone(), Definer::Var));
        }
    }
    if let Some(load) = &workflow.load {
        out.push_str(&load_settings(load));
    }
    out.push_str("\nsteps\n");
    let mut number = 0;
    for (finally, step) in workflow
        .steps
        .iter()
        .map(|s| (false, s))
        .chain(workflow.finally.iter().map(|s| (true, s)))
    {
        if finally && std::ptr::eq(step, &raw const workflow.finally[0]) {
            out.push_str("\nfinally\n");
        }
        number += 1;
        let placeholder = format!("<from step \"{}\">", step.name.value);
        let mut inside = variables.clone();
        if let Some(list) = step.for_each {
            let source = &workflow.templates[list.0 as usize].text;
            let element = JinjaValue::from(format!("<each of {source}>"));
            inside.set(&step.each_as.value, element, false);
        }
        let ctx = JinjaValue::from_dyn_object(Arc::new(inside));
        step_text(&mut out, plan, step, number, &ctx, &mut masker);
        // A `uses` step named like a variable defines the map of the called workflow's outputs.
        if let Action::Uses(uses) = &step.action
            && crate::names::is_identifier(&step.name.value)
        {
            let outputs: serde_json::Map<String, serde_json::Value> = plan
                .subplans
                .get(&uses.path.value)
                .map(|sub| {
                    sub.workflow
                        .outputs
                        .iter()
                        .map(|(name, _)| (name.value.clone(), placeholder.clone().into()))
                        .collect()
                })
                .unwrap_or_default();
            variables.set(
                &step.name.value,
                JinjaValue::from(minijinja::value::Serde(&outputs)),
                false,
            );
            definers.push((
                step.name.value.clone(),
                Definer::Step(step.name.value.clone()),
            ));
        }
        for extract in &step.extract {
            variables.set(
                &extract.name.value,
                JinjaValue::from(placeholder.clone()),
                extract.secret,
            );
            definers.push((
                extract.name.value.clone(),
                Definer::Step(step.name.value.clone()),
            ));
        }
    }
    out.push_str("\ndata flow\n");
    let readers = readers(plan);
    let width = definers.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, definer) in &definers {
        let users: Vec<&str> = readers
            .iter()
            .filter(|(_, reads)| reads.iter().any(|n| n == name))
            .map(|(reader, _)| reader.as_str())
            .collect();
        let by = match definer {
            Definer::Input => "input".to_owned(),
            Definer::Var => "var".to_owned(),
            Definer::Step(step) => format!("step \"{step}\""),
        };
        let used = if users.is_empty() {
            "unused".to_owned()
        } else {
            format!("used by {}", users.join(", "))
        };
        let _ = writeln!(out, "  {name:<width$}  from {by}; {used}");
    }
    masker.mask(&out).into_owned()
}

fn show(value: &JinjaValue) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

fn text(plan: &Plan, text: &Text, ctx: &JinjaValue) -> String {
    match text {
        Text::Literal(s) => s.clone(),
        Text::Template(id) => match plan.templates.render(*id, ctx) {
            // What a secret-making function (`jwt_sign`) renders is a credential.
            Ok(rendered) if makes_secret(plan, *id) && !rendered.is_empty() => MASK.to_owned(),
            Ok(rendered) => rendered,
            Err(e) => format!("<cannot render: {}>", e.message),
        },
    }
}

/// The URL of a step's OpenAPI operation, as the runner builds it: the base, then the path with
/// each path parameter written as its style says (left as `{name}` when it cannot be, and shown
/// as it is when it is known only at run time).
fn operation_url(
    plan: &Plan,
    request: &crate::format::model::Request,
    operation: &crate::openapi::Operation,
    base: &str,
    ctx: &JinjaValue,
) -> String {
    let base = if base.is_empty() {
        operation
            .servers
            .first()
            .map(crate::openapi::Server::resolve)
            .unwrap_or_default()
    } else {
        base.to_owned()
    };
    let mut path = operation.path.clone();
    for (name, value) in &request.path_params {
        let param = operation
            .parameters
            .iter()
            .find(|p| p.name == name.value && p.location == crate::openapi::Location::Path);
        let shown = text(plan, value, ctx);
        let hole = format!("{{{}}}", name.value);
        // A value known only when the run gets there (`<from step "list">`) shows as it is.
        if shown.contains('<') {
            path = path.replace(&hole, &shown);
            continue;
        }
        if let Some(Ok(crate::openapi::Serialized::Path(written))) =
            param.map(|p| crate::openapi::serialize(p, &serde_json::Value::String(shown)))
        {
            path = path.replace(&hole, &written);
        }
    }
    format!("{}{path}", base.trim_end_matches('/'))
}

/// Tells whether a template calls a function whose result is always a secret.
fn makes_secret(plan: &Plan, id: TemplateId) -> bool {
    plan.templates
        .dotted(id)
        .iter()
        .any(|path| SECRET_FUNCTIONS.contains(&path.as_str()))
}

fn render_value(plan: &Plan, value: &Value, ctx: &JinjaValue) -> serde_json::Value {
    match value {
        Value::Literal(json) => json.clone(),
        Value::Template(id) => match plan.templates.eval(*id, ctx) {
            Ok(v) if makes_secret(plan, *id) && !v.is_none() => MASK.into(),
            Ok(v) => serde_json::to_value(&v).unwrap_or(serde_json::Value::Null),
            Err(e) => serde_json::Value::String(format!("<cannot render: {}>", e.message)),
        },
        Value::List(items) => items.iter().map(|v| render_value(plan, v, ctx)).collect(),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| (k.clone(), render_value(plan, v, ctx)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

fn step_text(
    out: &mut String,
    plan: &Plan,
    step: &Step,
    number: usize,
    ctx: &JinjaValue,
    masker: &mut Masker,
) {
    let _ = writeln!(out, "  {number}. {}", step.name.value);
    let source_of =
        |id: crate::format::model::TemplateId| plan.workflow.templates[id.0 as usize].text.as_str();
    if let Some(condition) = step.condition {
        let _ = writeln!(out, "     if {}", source_of(condition));
    }
    if let Some(each) = step.for_each {
        let _ = writeln!(
            out,
            "     for each {} in {}",
            step.each_as.value,
            source_of(each)
        );
    }
    let request = match &step.action {
        Action::Request(request) => request,
        Action::Uses(uses) => {
            let _ = writeln!(out, "     uses {}", uses.path.value);
            for (name, value) in &uses.with {
                let rendered = render_value(plan, value, ctx);
                let shown = rendered
                    .as_str()
                    .map_or_else(|| rendered.to_string(), str::to_owned);
                let _ = writeln!(out, "     with {} = {shown}", name.value);
            }
            if let Some(sub) = plan.subplans.get(&uses.path.value) {
                let nested = uses_text(plan, sub, uses, ctx, masker);
                for line in nested.lines() {
                    let _ = writeln!(out, "     {line}");
                }
            }
            defines(out, step);
            flow(out, plan, step);
            return;
        }
    };
    let mut url = text(plan, &request.url.value, ctx);
    if let Some((_, operation)) = plan.operation(step) {
        url = operation_url(plan, request, operation, &url, ctx);
    }
    if !request.query.is_empty() {
        let pairs: Vec<String> = request
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", k.value, text(plan, v, ctx)))
            .collect();
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&pairs.join("&"));
    }
    let _ = writeln!(out, "     {} {url}", request.method.value);
    for (name, value) in plan
        .workflow
        .defaults
        .headers
        .iter()
        .chain(&request.headers)
    {
        // As the runner does: a template that renders to nothing leaves the header out.
        let shown = text(plan, value, ctx);
        if !(shown.is_empty() && matches!(value, Text::Template(_))) {
            let _ = writeln!(out, "     {}: {shown}", name.value);
        }
    }
    match &request.auth {
        Some(Auth::Basic { username, password }) => {
            let user = text(plan, username, ctx);
            let pass = text(plan, password, ctx);
            let _ = writeln!(out, "     authorization: Basic base64({user}:{pass})");
        }
        Some(Auth::Bearer(token)) => {
            let _ = writeln!(out, "     authorization: Bearer {}", text(plan, token, ctx));
        }
        Some(Auth::Digest { username, .. }) => {
            let user = text(plan, username, ctx);
            let _ = writeln!(
                out,
                "     authorization: Digest username={user} (after the server's challenge)"
            );
        }
        Some(Auth::AwsSigV4(aws)) => {
            let (key, region, service) = (
                text(plan, &aws.access_key, ctx),
                text(plan, &aws.region, ctx),
                text(plan, &aws.service, ctx),
            );
            let _ = writeln!(
                out,
                "     authorization: AWS4-HMAC-SHA256 Credential={key}/<date>/{region}/{service}/aws4_request (signed when sent)"
            );
        }
        None => {}
    }
    match &request.body {
        Some(Body::Json(value)) => {
            let json = render_value(plan, value, ctx);
            let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
            for line in pretty.lines() {
                let _ = writeln!(out, "     {line}");
            }
        }
        Some(Body::Form(fields)) => {
            let pairs: Vec<String> = fields
                .iter()
                .map(|(k, v)| (k, v, text(plan, v, ctx)))
                .filter(|(_, v, shown)| !(shown.is_empty() && matches!(v, Text::Template(_))))
                .map(|(k, _, shown)| format!("{}={shown}", k.value))
                .collect();
            let _ = writeln!(out, "     {}", pairs.join("&"));
        }
        Some(Body::Text(body)) => {
            for line in text(plan, body, ctx).lines() {
                let _ = writeln!(out, "     {line}");
            }
        }
        Some(Body::File { file, .. }) => {
            let _ = writeln!(out, "     <the bytes of `{}`>", file.written.value);
        }
        Some(Body::Template {
            template: Some(id), ..
        }) => {
            for line in text(plan, &Text::Template(*id), ctx).lines() {
                let _ = writeln!(out, "     {line}");
            }
        }
        Some(Body::Template { file, .. }) => {
            let _ = writeln!(
                out,
                "     <`{}` rendered as a template>",
                file.written.value
            );
        }
        Some(Body::Multipart(parts)) => {
            for part in parts {
                match &part.value {
                    PartValue::Text(value) => {
                        let _ =
                            writeln!(out, "     {}: {}", part.name.value, text(plan, value, ctx));
                    }
                    PartValue::File { file, .. } => {
                        let _ = writeln!(
                            out,
                            "     {}: <the file `{}`>",
                            part.name.value, file.written.value
                        );
                    }
                }
            }
        }
        None => {}
    }
    if let Some(save) = &step.save {
        let _ = writeln!(
            out,
            "     saves the response body to `{}`",
            save.written.value
        );
    }
    defines(out, step);
    flow(out, plan, step);
}

/// Writes what the run does after the step: on a failure (when the workflow says), and where
/// it goes on (`next:`).
fn flow(out: &mut String, plan: &Plan, step: &Step) {
    // `finally` steps all run whatever happens: `defaults.on_failure` does not apply to them.
    if plan.workflow.finally.iter().any(|s| std::ptr::eq(s, step)) {
        return;
    }
    let on_failure = match (&step.on_failure, &plan.workflow.defaults.on_failure) {
        (Some(own), _) => Some((own.value, "")),
        (None, Some(default)) => Some((default.value, " (defaults)")),
        (None, None) => None,
    };
    if let Some((value, from)) = on_failure {
        let value = match value {
            OnFailure::Continue => "continue",
            OnFailure::Stop => "stop",
        };
        let _ = writeln!(out, "     on failure: {value}{from}");
    }
    match &step.next {
        Some(Next::Step(name)) => {
            let _ = writeln!(out, "     next: {}", name.value);
        }
        Some(Next::End(_)) => out.push_str("     next: null (the run ends after this step)\n"),
        Some(Next::Template(id)) => {
            let source = &plan.workflow.templates[id.0 as usize].text;
            let _ = writeln!(out, "     next: {source} (rendered after the step)");
        }
        None => {}
    }
}

/// Renders the steps a `uses` step runs, with the inputs its `with:` gives them.
fn uses_text(
    plan: &Plan,
    sub: &Plan,
    uses: &crate::format::model::Uses,
    ctx: &JinjaValue,
    masker: &mut Masker,
) -> String {
    let mut variables = Variables::default();
    for input in &sub.workflow.inputs {
        let name = &input.name.value;
        let given = uses.with.iter().find(|(n, _)| &n.value == name);
        let value = match (given, &input.default) {
            (Some((_, value)), _) => {
                JinjaValue::from(minijinja::value::Serde(render_value(plan, value, ctx)))
            }
            (None, Some(default)) => {
                let inner = JinjaValue::from_dyn_object(Arc::new(variables.clone()));
                JinjaValue::from(text(sub, default, &inner))
            }
            (None, None) => JinjaValue::from(format!("<input \"{name}\">")),
        };
        if let Some(text) = value
            .as_str()
            .filter(|t| input.secret && !t.starts_with('<'))
        {
            masker.add(text);
        }
        variables.set(name, value, input.secret);
    }
    for var in &sub.workflow.vars {
        let inner = JinjaValue::from_dyn_object(Arc::new(variables.clone()));
        let value = render_value(sub, &var.value, &inner);
        if let Some(text) = value.as_str().filter(|_| var.secret) {
            masker.add(text);
        }
        variables.set(
            &var.name.value,
            JinjaValue::from(minijinja::value::Serde(&value)),
            var.secret,
        );
    }
    let mut out = String::new();
    for (number, step) in sub
        .workflow
        .steps
        .iter()
        .chain(&sub.workflow.finally)
        .enumerate()
    {
        let inner = JinjaValue::from_dyn_object(Arc::new(variables.clone()));
        step_text(&mut out, sub, step, number + 1, &inner, masker);
        for extract in &step.extract {
            let placeholder = format!("<from step \"{}\">", step.name.value);
            variables.set(
                &extract.name.value,
                JinjaValue::from(placeholder),
                extract.secret,
            );
        }
    }
    out
}

fn defines(out: &mut String, step: &Step) {
    if !step.extract.is_empty() {
        let names: Vec<&str> = step.extract.iter().map(|e| e.name.value.as_str()).collect();
        let _ = writeln!(out, "     defines {}", names.join(", "));
    }
}

/// Lists everything that reads variables, in order — input defaults (`input NAME`), vars
/// (`var NAME`) and steps (`"NAME"`) — with the names each reads.
fn readers(plan: &Plan) -> Vec<(String, Vec<String>)> {
    let workflow = &plan.workflow;
    let mut readers = Vec::new();
    for input in &workflow.inputs {
        if let Some(Text::Template(id)) = &input.default {
            readers.push((
                format!("input {}", input.name.value),
                plan.templates.reads(*id).to_vec(),
            ));
        }
    }
    for var in &workflow.vars {
        let reads = value_templates(&var.value)
            .iter()
            .flat_map(|id| plan.templates.reads(*id).iter().cloned())
            .collect();
        readers.push((format!("var {}", var.name.value), reads));
    }
    for step in workflow.steps.iter().chain(&workflow.finally) {
        readers.push((format!("\"{}\"", step.name.value), step_reads(plan, step)));
    }
    readers
}

/// Lists the names a step reads, response names excluded.
fn step_reads(plan: &Plan, step: &Step) -> Vec<String> {
    let next = match &step.next {
        Some(Next::Template(id)) => Some(*id),
        _ => None,
    };
    let mut names: Vec<String> = step_templates(step)
        .iter()
        .map(|(id, _)| *id)
        .chain(next)
        .flat_map(|id| plan.templates.reads(id).iter().cloned())
        .filter(|n| !RESPONSE_NAMES.contains(&n.as_str()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Writes the `load:` key's settings, one a line: what `apiflow run` runs unless flags say
/// otherwise.
fn load_settings(load: &crate::format::model::LoadTest) -> String {
    let mut lines: Vec<(&str, String)> = Vec::new();
    if let Some(count) = load.iterations {
        lines.push(("iterations", count.to_string()));
    }
    if let Some(count) = load.concurrency {
        lines.push(("concurrency", count.to_string()));
    }
    if let Some(duration) = load.duration {
        lines.push(("duration", written(duration)));
    }
    if let Some(rate) = load.rate {
        lines.push(("rate", rate.to_string()));
    }
    if let Some(stages) = &load.stages {
        let stages: Vec<String> = stages
            .iter()
            .map(|s| format!("{}:{}", written(s.duration), s.target))
            .collect();
        lines.push(("stages", stages.join(", ")));
    }
    if !load.thresholds.is_empty() {
        let texts: Vec<&str> = load.thresholds.iter().map(|t| t.text.as_str()).collect();
        lines.push(("thresholds", texts.join(", ")));
    }
    let mut out = String::from("\nload (`apiflow run` runs it; `--no-load` runs once)\n");
    for (name, value) in lines {
        let _ = writeln!(out, "  {name:<11} = {value}");
    }
    out
}

/// Writes a duration as a workflow would: `90s`, `2m`, `1h`, `250ms`.
fn written(duration: std::time::Duration) -> String {
    let (seconds, millis) = (duration.as_secs(), duration.subsec_millis());
    match (seconds, millis) {
        (0, millis) => format!("{millis}ms"),
        (seconds, 0) if seconds % 3600 == 0 => format!("{}h", seconds / 3600),
        (seconds, 0) if seconds % 60 == 0 => format!("{}m", seconds / 60),
        (seconds, 0) => format!("{seconds}s"),
        _ => format!("{}ms", duration.as_millis()),
    }
}

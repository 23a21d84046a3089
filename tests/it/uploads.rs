//! Files a workflow sends and saves: `multipart:` forms, `body: { file }` and
//! `body: { template }` as the server receives them, a large file streamed with its length
//! through both HTTP stacks, the folders files are confined to (`--file-root`), and `save:`
//! with `--output-dir`.

use crate::support;

use std::path::Path;

use apiflow::check::confine::FileAccess;
use apiflow::check::inputs::InputSources;
use apiflow::http::{ClientOptions, Stack};
use support::bin::{apiflow, output};
use support::{Recorded, Reply, Server};

/// A folder with a workflow and the files it sends, removed when dropped.
fn folder(name: &str, workflow: &str, files: &[(&str, &[u8])]) -> support::bin::TempDir {
    let dir = support::bin::TempDir::new(name);
    std::fs::write(dir.0.join("flow.yaml"), workflow).expect("the workflow is written");
    for (path, bytes) in files {
        let path = dir.0.join(path);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("its folder");
        std::fs::write(path, bytes).expect("a file is written");
    }
    dir
}

fn echo_server() -> Server {
    Server::start(|request: &Recorded| match request.path.as_str() {
        "/moved" => Reply::redirect(307, "/upload"),
        "/report" => Reply::json(200, &serde_json::json!({ "report": [1, 2, 3] })),
        path if path.starts_with("/page/") => Reply::text(200, path),
        _ => Reply::text(200, "ok"),
    })
}

/// The boundary a request's `Content-Type` names.
fn boundary(request: &Recorded) -> String {
    let content_type = request.header("content-type").expect("a content type");
    content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| panic!("not a form: {content_type}"))
        .to_owned()
}

const FORM: &str = r#"
name: form
inputs:
  base_url:
vars:
  who: Ann
steps:
  - name: upload
    request:
      method: POST
      url: "{{ base_url }}/upload"
      multipart:
        - greeting: "hello {{ who }}"
        - tag: one
        - tag: two
        - doc: { file: docs/report.pdf }
        - raw:
            file: data/blob
            filename: "a \"quoted\".bin"
            content_type: application/x-blob
"#;

#[test]
fn a_multipart_form_arrives_part_by_part_with_names_files_and_types() {
    let server = echo_server();
    let blob: Vec<u8> = (0..=255u8).collect();
    let dir = folder(
        "multipart",
        FORM,
        &[("docs/report.pdf", b"%PDF-1.7 tiny"), ("data/blob", &blob)],
    );
    let out = output(
        apiflow(&["run", &dir.file("flow.yaml"), "--var"]).arg(format!("base_url={}", server.url)),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let request = server.only("/upload");
    let b = boundary(&request);
    assert!(b.len() >= 40, "a long random boundary: {b}");
    let mut expected = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"greeting\"\r\n\r\nhello Ann\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"tag\"\r\n\r\none\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"tag\"\r\n\r\ntwo\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"report.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n%PDF-1.7 tiny\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"raw\"; filename=\"a %22quoted%22.bin\"\r\n\
         Content-Type: application/x-blob\r\n\r\n"
    )
    .into_bytes();
    expected.extend_from_slice(&blob);
    expected.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    assert_eq!(request.bytes, expected);
    assert_eq!(
        request.header("content-length"),
        Some(expected.len().to_string().as_str())
    );
    assert_eq!(request.header("transfer-encoding"), None);
    // Each request draws its own boundary.
    let again = output(
        apiflow(&["run", &dir.file("flow.yaml"), "--var"]).arg(format!("base_url={}", server.url)),
        &[],
    );
    assert_eq!(again.code, 0);
    let requests = server.requests();
    assert_ne!(boundary(&requests[0]), boundary(&requests[1]));
}

const BODIES: &str = r#"
name: bodies
inputs:
  base_url:
vars:
  items: [1, 2]
steps:
  - name: as it is
    request:
      method: PUT
      url: "{{ base_url }}/upload"
      body: { file: payload.json }
  - name: rendered
    request:
      method: POST
      url: "{{ base_url }}/upload"
      body: { template: templates/order.json.j2, content_type: application/json }
  - name: through a redirect
    request:
      method: POST
      url: "{{ base_url }}/moved"
      follow_redirects: true
      body: { file: payload.json, content_type: text/plain }
"#;

#[test]
fn a_body_file_is_sent_as_it_is_and_a_template_file_rendered() {
    let server = echo_server();
    let dir = folder(
        "bodies",
        BODIES,
        &[
            ("payload.json", b"{ \"as\": \"{{ written }}\" }\n"),
            (
                "templates/order.json.j2",
                b"{\"count\": {{ items | length }}, \"first\": {{ items[0] }}}",
            ),
        ],
    );
    let out = output(
        apiflow(&["run", &dir.file("flow.yaml"), "--var"]).arg(format!("base_url={}", server.url)),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let requests = server.requests();
    let bodies: Vec<(&str, &str, Option<&str>)> = requests
        .iter()
        .map(|r| (r.path.as_str(), r.body.as_str(), r.header("content-type")))
        .collect();
    assert_eq!(
        bodies,
        [
            (
                "/upload",
                "{ \"as\": \"{{ written }}\" }\n",
                Some("application/json")
            ),
            (
                "/upload",
                "{\"count\": 2, \"first\": 1}",
                Some("application/json")
            ),
            // A 307 sends the file again, read anew.
            (
                "/moved",
                "{ \"as\": \"{{ written }}\" }\n",
                Some("text/plain")
            ),
            (
                "/upload",
                "{ \"as\": \"{{ written }}\" }\n",
                Some("text/plain")
            ),
        ]
    );
    assert_eq!(requests[3].header("content-length"), Some("26"));
}

const LARGE: &str = r#"
name: large
inputs:
  base_url:
steps:
  - name: file
    request:
      method: PUT
      url: "{{ base_url }}/file"
      body: { file: big.bin }
  - name: form
    request:
      method: POST
      url: "{{ base_url }}/form"
      multipart:
        big: { file: big.bin }
"#;

#[tokio::test]
async fn a_large_file_is_streamed_intact_with_its_length_through_both_stacks() {
    const SIZE: usize = 20 * 1024 * 1024;
    let big: Vec<u8> = (0..SIZE)
        .map(|i| u8::try_from((i * 31 + i / 4099) % 251).expect("a byte"))
        .collect();
    let dir = folder("large", LARGE, &[("big.bin", &big)]);
    for stack in [Stack::Plain, Stack::Reqwest] {
        let server = echo_server();
        let plan = apiflow::check_file_in(&dir.0.join("flow.yaml"), &FileAccess::default())
            .unwrap_or_else(|d| panic!("{}", support::render(&d)));
        let sources = InputSources {
            vars: vec![("base_url".to_owned(), server.url.clone())],
            ..InputSources::default()
        };
        let inputs = apiflow::check::inputs::resolve(&plan, &sources, &|_| None)
            .unwrap_or_else(|d| panic!("{}", support::render(&d)));
        let client = apiflow::http::Client::new(&ClientOptions {
            stack,
            ..ClientOptions::default()
        })
        .expect("a client");
        let report = apiflow::runner::run(
            &plan,
            &client,
            inputs,
            &apiflow::runner::Settings::default(),
            &mut apiflow::report::event::Silent,
        )
        .await
        .expect("a run");
        assert_eq!(report.exit_code().code(), 0, "{stack:?}");
        let file = server.only("/file");
        assert_eq!(
            file.header("content-length"),
            Some(SIZE.to_string().as_str())
        );
        assert_eq!(file.header("transfer-encoding"), None, "{stack:?}");
        assert!(file.bytes == big, "{stack:?}: the file arrived changed");
        let form = server.only("/form");
        let head = format!(
            "--{}\r\nContent-Disposition: form-data; name=\"big\"; filename=\"big.bin\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n",
            boundary(&form)
        );
        assert!(form.bytes.starts_with(head.as_bytes()), "{stack:?}");
        assert!(
            form.bytes[head.len()..head.len() + SIZE] == big[..],
            "{stack:?}: the form's file arrived changed"
        );
        assert_eq!(
            form.header("content-length"),
            Some(form.bytes.len().to_string().as_str())
        );
    }
}

const OUTSIDE: &str = r#"
name: outside
inputs:
  base_url:
steps:
  - name: upload
    request:
      method: POST
      url: "{{ base_url }}/upload"
      multipart:
        shared: { file: ../shared/data.txt }
"#;

#[test]
fn a_file_outside_the_workflows_folder_needs_file_root() {
    let server = echo_server();
    let dir = folder(
        "file-root",
        "",
        &[
            ("flows/flow.yaml", OUTSIDE.as_bytes()),
            ("shared/data.txt", b"shared"),
        ],
    );
    let flow = dir.file("flows/flow.yaml");
    let refused = output(&mut apiflow(&["validate", &flow]), &[]);
    assert_eq!(refused.code, 2);
    let stderr = refused
        .stderr
        .replace(&dir.0.display().to_string(), "<dir>");
    assert_eq!(
        stderr,
        "error: `file: ../shared/data.txt` is outside the workflow's folder\n  \
         --> <dir>/flows/flow.yaml:11:25\n   |\n 6 |   - name: upload\n   ⋮\n\
         11 |         shared: { file: ../shared/data.txt }\n   \
         |                         ^^^^^^^^^^^^^^^^^^ outside the root\n   \
         = in step `upload`\n   \
         = help: files a workflow reads stay under its folder; to read this one, widen the \
         root with `--file-root DIR`\n\n✗ <dir>/flows/flow.yaml: 1 problem\n"
    );
    let root = dir.0.display().to_string();
    let accepted = output(
        &mut apiflow(&["validate", &flow, "--file-root", &root]),
        &[],
    );
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    let planned = output(&mut apiflow(&["plan", &flow, "--file-root", &root]), &[]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    assert!(
        planned
            .stdout
            .contains("shared: <the file `../shared/data.txt`>"),
        "{}",
        planned.stdout
    );
    let ran = output(
        apiflow(&["run", &flow, "--file-root", &root, "--var"])
            .arg(format!("base_url={}", server.url)),
        &[],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(server.only("/upload").body.contains("\r\n\r\nshared\r\n"));
    // A root that does not hold the file refuses it too.
    let narrow = dir.file("flows");
    let refused = output(
        &mut apiflow(&["validate", &flow, "--file-root", &narrow]),
        &[],
    );
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("is outside `--file-root ")
            && refused.stderr.contains("give a wider one"),
        "{}",
        refused.stderr
    );
}

#[cfg(unix)]
#[test]
fn a_link_that_leads_out_of_the_folder_is_refused_unless_the_root_holds_its_target() {
    let dir = folder(
        "link",
        "",
        &[
            (
                "flows/flow.yaml",
                OUTSIDE.replace("../shared/data.txt", "link.txt").as_bytes(),
            ),
            ("shared/data.txt", b"shared"),
        ],
    );
    std::os::unix::fs::symlink(dir.0.join("shared/data.txt"), dir.0.join("flows/link.txt"))
        .expect("a link");
    let flow = dir.file("flows/flow.yaml");
    let refused = output(&mut apiflow(&["validate", &flow]), &[]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.starts_with(
            "error: `file: link.txt` leads outside the workflow's folder through a symbolic link\n"
        ),
        "{}",
        refused.stderr
    );
    let root = dir.0.display().to_string();
    let accepted = output(
        &mut apiflow(&["validate", &flow, "--file-root", &root]),
        &[],
    );
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
}

const SAVE: &str = r#"
name: save
inputs:
  base_url:
steps:
  - name: fetch the report
    request:
      url: "{{ base_url }}/report"
    save: reports/today/report.json
"#;

#[test]
fn save_writes_the_body_under_the_output_folder_making_folders() {
    let server = echo_server();
    let dir = folder("save", SAVE, &[]);
    let out_dir = dir.file("out");
    let out = output(
        apiflow(&[
            "run",
            &dir.file("flow.yaml"),
            "--output-dir",
            &out_dir,
            "--var",
        ])
        .arg(format!("base_url={}", server.url)),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let saved = std::fs::read_to_string(Path::new(&out_dir).join("reports/today/report.json"))
        .expect("the saved body");
    assert_eq!(saved, r#"{"report":[1,2,3]}"#);
}

#[cfg(unix)]
#[test]
fn save_does_not_follow_a_link_out_of_the_output_folder() {
    let server = echo_server();
    let dir = folder("save-link", SAVE, &[]);
    let (out_dir, elsewhere) = (dir.0.join("out"), dir.0.join("elsewhere"));
    std::fs::create_dir_all(&out_dir).expect("the output folder");
    std::fs::create_dir_all(&elsewhere).expect("another folder");
    std::os::unix::fs::symlink(&elsewhere, out_dir.join("reports")).expect("a link");
    let out = output(
        apiflow(&["run", &dir.file("flow.yaml"), "--output-dir"])
            .arg(&out_dir)
            .arg("--var")
            .arg(format!("base_url={}", server.url)),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "cannot save the response to `reports/today/report.json`: it leads outside the \
             output folder through a symbolic link"
        ),
        "{}",
        out.stdout
    );
    assert!(!elsewhere.join("today").exists());
}

const SAVE_EACH: &str = r#"
name: save each
inputs:
  base_url:
steps:
  - name: fetch the pages
    for_each: "[1, 2, 3]"
    request:
      url: "{{ base_url }}/page/{{ item }}"
    save: page.txt
"#;

#[cfg(unix)]
#[test]
fn save_replaces_a_link_in_the_files_place_and_the_last_run_wins() {
    let server = echo_server();
    let dir = folder("save-each", SAVE_EACH, &[("outside.txt", b"untouched")]);
    let out_dir = dir.0.join("out");
    std::fs::create_dir_all(&out_dir).expect("the output folder");
    std::os::unix::fs::symlink(dir.0.join("outside.txt"), out_dir.join("page.txt"))
        .expect("a link");
    let out = output(
        apiflow(&["run", &dir.file("flow.yaml"), "--output-dir"])
            .arg(&out_dir)
            .arg("--var")
            .arg(format!("base_url={}", server.url)),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let saved = out_dir.join("page.txt");
    assert!(!saved.is_symlink());
    assert_eq!(std::fs::read_to_string(saved).expect("saved"), "/page/3");
    assert_eq!(
        std::fs::read_to_string(dir.0.join("outside.txt")).expect("kept"),
        "untouched"
    );
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("the output folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["page.txt"]);
}

const TEMPLATED_NAME: &str = r#"
name: templated part name
inputs:
  base_url:
vars:
  who: Ann
steps:
  - name: upload
    request:
      method: POST
      url: "{{ base_url }}/upload"
      multipart:
        "field-{{ who }}": v
"#;

#[test]
fn a_part_name_may_be_a_template_checked_before_running() {
    let server = echo_server();
    let dir = folder("templated-part", TEMPLATED_NAME, &[]);
    let out = output(
        apiflow(&["run", &dir.file("flow.yaml"), "--var"]).arg(format!("base_url={}", server.url)),
        &[],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let request = server.only("/upload");
    assert!(
        request
            .body
            .contains("Content-Disposition: form-data; name=\"field-Ann\"\r\n"),
        "{}",
        request.body
    );

    let dir = folder(
        "templated-part-undefined",
        &TEMPLATED_NAME.replace("{{ who }}", "{{ nobody }}"),
        &[],
    );
    let out = output(&mut apiflow(&["validate", &dir.file("flow.yaml")]), &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("undefined variable `nobody`"),
        "{}",
        out.stderr
    );
}

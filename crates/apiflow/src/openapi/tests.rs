//! Loading descriptions: small ones written here, problems located, and the published
//! examples in `tests/vectors/openapi/`.

use std::path::{Path, PathBuf};

use super::*;

fn load(text: &str) -> Result<Description, String> {
    Description::from_source(&Source::new("api.yaml", text))
        .map_err(|d| Diagnostic::render_all(&d, false))
}

fn error(text: &str) -> String {
    match load(text) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

const PETS: &str = r##"openapi: 3.1.0
info: { title: pets, version: "1" }
servers:
  - url: "https://{region}.example.test/v{version}"
    variables:
      region: { default: eu, enum: [eu, us] }
      version: { default: "2" }
security:
  - key: []
paths:
  /pets/{petId}:
    parameters:
      - name: petId
        in: path
        schema: { type: integer }
      - $ref: "#/components/parameters/Trace"
    get:
      operationId: showPet
      parameters:
        - name: X-Trace
          in: header
          required: true
      responses:
        "200":
          description: a pet
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Pet" }
        default:
          $ref: "#/components/responses/Problem"
    put:
      operationId: updatePet
      security: [{}]
      servers: [{ url: "http://localhost:8080" }]
      requestBody:
        required: true
        content:
          application/json: {}
          application/merge-patch+json: {}
      responses:
        "2XX": { description: done }
  /pets:
    get:
      operationId: listPets
      parameters:
        - { name: tags, in: query, schema: { type: array } }
        - { name: id, in: query, style: deepObject, explode: false }
      responses:
        "200": { description: pets }
components:
  parameters:
    Trace: { name: X-Trace, in: header }
  responses:
    Problem:
      description: a problem
      content:
        application/problem+json:
          schema: { type: object }
  schemas:
    Pet: { type: object, required: [id] }
  securitySchemes:
    key: { type: apiKey, in: header, name: X-Key }
"##;

#[test]
fn operations_are_read_with_their_parameters_servers_responses_and_security() {
    let api = load(PETS).unwrap();
    assert_eq!(api.version.value, "3.1.0");
    assert_eq!(api.dialect, Dialect::Oas31);
    assert_eq!(api.servers[0].resolve(), "https://eu.example.test/v2");
    assert_eq!(api.servers[0].variables[0].enum_values, ["eu", "us"]);
    let ids: Vec<&str> = api.operation_ids().collect();
    assert_eq!(ids, ["showPet", "updatePet", "listPets"]);

    let show = api.operation_by_id("showPet").unwrap();
    assert_eq!(show.method, "GET");
    assert_eq!(show.path, "/pets/{petId}");
    assert_eq!(show.pointer, "/paths/~1pets~1{petId}/get");
    assert_eq!(show.span, Span::new(17, 5, 3));
    // The path item's `X-Trace` (by reference) is replaced by the operation's.
    let names: Vec<(&str, Location, bool)> = show
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.location, p.required))
        .collect();
    assert_eq!(
        names,
        [
            ("petId", Location::Path, true),
            ("X-Trace", Location::Header, true)
        ]
    );
    assert_eq!(show.parameters[0].style, Style::Simple);
    assert!(!show.parameters[0].explode);
    assert_eq!(show.servers, api.servers);
    assert_eq!(show.security, [vec!["key".to_owned()]]);
    let statuses: Vec<&str> = show.responses.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["200", "default"]);
    let json = &show.responses[0].content[0];
    assert_eq!(json.name, "application/json");
    assert_eq!(
        json.schema_pointer,
        "/paths/~1pets~1{petId}/get/responses/200/content/application~1json/schema"
    );
    // A response by reference keeps where its schema really is.
    assert_eq!(
        show.responses[1].content[0].schema_pointer,
        "/components/responses/Problem/content/application~1problem+json/schema"
    );

    let update = api.operation_by_id("updatePet").unwrap();
    assert_eq!(update.servers[0].url, "http://localhost:8080");
    assert_eq!(update.security, [Vec::<String>::new()]);
    let body = update.request_body.as_ref().unwrap();
    assert!(body.required);
    assert_eq!(
        body.content_types,
        ["application/json", "application/merge-patch+json"]
    );

    let list = api.operation_by_id("listPets").unwrap();
    assert_eq!(list.parameters[0].style, Style::Form);
    assert!(list.parameters[0].explode);
    assert_eq!(list.parameters[1].style, Style::DeepObject);
    assert!(!list.parameters[1].explode);
    assert_eq!(api.security_schemes[0].0, "key");
    assert_eq!(api.span_of("/paths/~1pets/get/operationId").line, 44);
}

#[test]
fn operations_are_found_by_pointer_or_told_what_is_there() {
    let api = load(PETS).unwrap();
    let found = api.operation_at("/paths/~1pets~1{petId}/put").unwrap();
    assert_eq!(found.id.as_deref(), Some("updatePet"));
    let problem = |p: &str| api.operation_at(p).unwrap_err();
    let not_an_operation = |what: &str| PointerProblem::NotAnOperation { what: what.into() };
    assert_eq!(problem("/paths/~1pets"), not_an_operation("a path item"));
    assert_eq!(
        problem("/paths/~1pets~1{petId}/parameters"),
        not_an_operation("`parameters` of a path item")
    );
    assert_eq!(
        problem("/paths/~1pets/get/responses"),
        not_an_operation("`responses` of the `get` operation")
    );
    assert_eq!(
        problem("/paths/~1pet/get"),
        PointerProblem::NotFound {
            nearest: "/paths/~1pets/get".into()
        }
    );
    assert_eq!(
        problem("/paths/~1stores~1{storeId}~1orders/delete"),
        PointerProblem::NotFound {
            nearest: "/paths".into()
        }
    );
}

#[test]
fn what_is_not_a_description_is_refused_with_where() {
    insta::assert_snapshot!("not_a_mapping", error("- a\n- b\n"));
    insta::assert_snapshot!("no_version", error("info: { title: t }\npaths: {}\n"));
    insta::assert_snapshot!("swagger", error("swagger: '2.0'\ninfo: { title: t }\n"));
    insta::assert_snapshot!("version_4", error("openapi: 4.0.0\npaths: {}\n"));
    insta::assert_snapshot!("empty", error("   \n"));
}

#[test]
fn broken_references_and_duplicates_are_located() {
    let text = "openapi: 3.0.3\npaths:\n  /a:\n    get:\n      operationId: one\n      parameters:\n        - $ref: '#/components/parameters/Limt'\n  /b:\n    get:\n      operationId: one\ncomponents:\n  parameters:\n    Limit: { name: limit, in: query }\n";
    insta::assert_snapshot!("unresolved_and_duplicate", error(text));
    let remote =
        "openapi: 3.1.0\npaths:\n  /a:\n    $ref: 'https://example.test/common.yaml#/paths/a'\n";
    insta::assert_snapshot!("remote", error(remote));
    let cycle = "openapi: 3.1.0\npaths:\n  /a:\n    $ref: '#/components/pathItems/A'\ncomponents:\n  pathItems:\n    A: { $ref: '#/components/pathItems/B' }\n    B: { $ref: '#/components/pathItems/A' }\n";
    insta::assert_snapshot!("cycle", error(cycle));
    let unique = "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      operationId: one\n  /b:\n    get:\n      operationId: one\n";
    insta::assert_snapshot!("duplicate", error(unique));
    let bad = "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      parameters:\n        - { name: q, in: querys }\n        - { name: r, in: query, style: formm }\n";
    insta::assert_snapshot!("bad_parameters", error(bad));
}

/// A folder of its own for a test's files.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apiflow-openapi-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("api/shared")).unwrap();
    dir
}

#[test]
fn references_to_other_files_are_read_relative_to_the_file_holding_them() {
    let dir = folder("files");
    std::fs::write(
        dir.join("api/main.yaml"),
        "openapi: 3.1.0\npaths:\n  /pets:\n    $ref: 'shared/pets.yaml#/PetsItem'\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("api/shared/pets.yaml"),
        "PetsItem:\n  get:\n    operationId: listPets\n    parameters:\n      - $ref: '../params%20here.json#/limit'\n    responses:\n      '200':\n        content:\n          application/json:\n            schema: { $ref: '#/Pets' }\nPets: { type: array }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("api/params here.json"),
        "{\"limit\": {\"name\": \"limit\", \"in\": \"query\"}}",
    )
    .unwrap();
    let api = Description::load(&dir.join("api/main.yaml"), &FileAccess::default()).unwrap();
    let list = api.operation_by_id("listPets").unwrap();
    assert_eq!(list.pointer, "/paths/~1pets/get");
    assert_eq!(list.span.line, 3, "shown at the reference");
    assert_eq!(list.parameters[0].name, "limit");
    let media = &list.responses[0].content[0];
    assert_eq!(
        media.schema_pointer,
        "/PetsItem/get/responses/200/content/application~1json/schema"
    );
    assert!(
        api.documents[media.document]
            .source
            .name
            .ends_with("shared/pets.yaml")
    );
    assert_eq!(api.documents.len(), 3);

    // Out of the description's folder: refused unless the root is widened.
    std::fs::write(
        dir.join("outside.yaml"),
        "limit: { name: limit, in: query }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("api/out.yaml"),
        "openapi: 3.0.3\npaths:\n  /a:\n    get:\n      parameters:\n        - $ref: '../outside.yaml#/limit'\n",
    )
    .unwrap();
    let out = dir.join("api/out.yaml");
    let errors = Description::load(&out, &FileAccess::default()).unwrap_err();
    let text = Diagnostic::render_all(&errors, false);
    assert!(
        text.contains("the file is outside the folder files are read from"),
        "{text}"
    );
    assert!(text.contains("out.yaml:6:"), "{text}");
    let wide = FileAccess {
        file_root: Some(dir.clone()),
        ..FileAccess::default()
    };
    assert!(Description::load(&out, &wide).is_ok());

    // A missing file, and one that does not parse, each said where it is named.
    std::fs::write(
        dir.join("api/missing.yaml"),
        "openapi: 3.0.3\npaths:\n  /a: { $ref: 'nowhere.yaml#/a' }\n  /b: { $ref: 'broken.yaml#/b' }\n",
    )
    .unwrap();
    std::fs::write(dir.join("api/broken.yaml"), "b: [\n").unwrap();
    let errors =
        Description::load(&dir.join("api/missing.yaml"), &FileAccess::default()).unwrap_err();
    let text = Diagnostic::render_all(&errors, false);
    assert!(text.contains("no such file"), "{text}");
    assert!(text.contains("broken.yaml"), "{text}");
    assert_eq!(errors.len(), 3, "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_description_is_said_plainly() {
    let errors =
        Description::load(Path::new("no/such/api.yaml"), &FileAccess::default()).unwrap_err();
    assert_eq!(
        errors[0].title,
        "cannot read `no/such/api.yaml`: no such file"
    );
}

/// The published descriptions: each loads, with the operations it declares.
#[test]
fn published_descriptions_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/openapi");
    let cases: &[(&str, Dialect, usize, &str)] = &[
        ("petstore-expanded.yaml", Dialect::Oas30, 4, "findPets"),
        (
            "arazzo/bnpl-openapi.yaml",
            Dialect::Oas30,
            7,
            "createCustomer",
        ),
        (
            "arazzo/pet-coupons.openapi.yaml",
            Dialect::Oas30,
            0,
            "findPetsByTags",
        ),
        ("arazzo/oauth.openapi.yaml", Dialect::Oas31, 2, "get-token"),
        ("arazzo/FAPI-PAR.openapi.yaml", Dialect::Oas30, 0, "Par"),
    ];
    for (file, dialect, count, id) in cases {
        let api = Description::load(&root.join(file), &FileAccess::default())
            .unwrap_or_else(|e| panic!("{file}: {}", Diagnostic::render_all(&e, false)));
        assert_eq!(api.dialect, *dialect, "{file}");
        if *count > 0 {
            assert_eq!(api.operations.len(), *count, "{file}");
        }
        assert!(api.operation_by_id(id).is_some(), "{file}: {id}");
    }
    // The Petstore's `Pet` is `allOf` a `NewPet` (which requires `name`) and a required `id`.
    let petstore = root.join("petstore-expanded.yaml");
    let api = Description::load(&petstore, &FileAccess::default()).unwrap();
    let find = api.operation_by_id("findPets").unwrap();
    let found = find.check_response(
        &api,
        200,
        Some("application/json"),
        br#"[{"id":1,"name":"a"},{"tag":"b"}]"#,
    );
    let messages: Vec<&str> = found.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "`/1`: required property `name` is missing",
            "`/1`: required property `id` is missing"
        ]
    );
    // The shipped PingOne description loads too.
    let shipped =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/pingone.openapi.yaml");
    let api = Description::load(&shipped, &FileAccess::default())
        .unwrap_or_else(|e| panic!("{}", Diagnostic::render_all(&e, false)));
    assert!(api.operations.len() > 3);
}

const CHECKED: &str = r##"openapi: 3.1.0
paths:
  /pets:
    get:
      operationId: listPets
      responses:
        "200":
          content:
            application/json:
              schema:
                type: object
                required: [pets]
                properties:
                  pets: { type: array, items: { $ref: "#/components/schemas/Pet" } }
            text/*: {}
        "4XX":
          content:
            application/problem+json:
              schema: { type: object, required: [title] }
        "503": { description: no body declared }
  /any:
    get:
      operationId: anything
      responses:
        default:
          content:
            "*/*": { schema: { type: string } }
components:
  schemas:
    Pet:
      type: object
      required: [id]
      properties:
        id: { type: integer }
        tag: { type: [string, "null"] }
"##;

/// Checks a response and lists each problem as `message | instance | schema`.
fn problems(
    text: &str,
    id: &str,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Vec<String> {
    let api = load(text).unwrap();
    let op = api.operation_by_id(id).unwrap();
    op.check_response(&api, status, content_type, body.as_bytes())
        .into_iter()
        .map(|p| {
            format!(
                "{} | {} | {}",
                p.message,
                p.instance_pointer.unwrap_or_default(),
                p.schema_pointer.unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn a_status_must_be_declared_exactly_by_its_class_or_by_default() {
    assert_eq!(
        problems(CHECKED, "listPets", 500, None, ""),
        ["status 500 is not declared for `listPets` (GET /pets) (declared: 200, 4XX, 503) |  | "]
    );
    assert!(
        problems(
            CHECKED,
            "listPets",
            404,
            Some("application/problem+json"),
            "{\"title\":\"x\"}"
        )
        .is_empty()
    );
    assert!(problems(CHECKED, "listPets", 503, Some("text/html"), "<p>down</p>").is_empty());
    assert!(problems(CHECKED, "anything", 599, Some("text/plain"), "x").is_empty());
}

#[test]
fn a_content_type_must_fall_under_a_declared_media_type() {
    assert_eq!(
        problems(CHECKED, "listPets", 200, Some("application/xml"), "<pets/>"),
        [
            "content type `application/xml` is not declared for status 200 of `listPets` (GET /pets) (declared: application/json, text/*) |  | "
        ]
    );
    assert_eq!(
        problems(CHECKED, "listPets", 200, None, "{}"),
        [
            "the response has a body but no `Content-Type` (declared for status 200: application/json, text/*) |  | "
        ]
    );
    // Parameters and case are ignored; `text/*` takes any text; `*/*` anything.
    assert!(
        problems(
            CHECKED,
            "listPets",
            200,
            Some("Application/JSON; charset=utf-8"),
            "{\"pets\":[]}"
        )
        .is_empty()
    );
    assert!(problems(CHECKED, "listPets", 200, Some("text/csv"), "a,b").is_empty());
    assert_eq!(
        problems(
            CHECKED,
            "anything",
            200,
            Some("application/vnd.x+json"),
            "1"
        ),
        [
            "the body: expected string, found integer 1 |  | /paths/~1any/get/responses/default/content/*~1*/schema/type"
        ]
    );
    // No body: nothing to check.
    assert!(problems(CHECKED, "listPets", 200, Some("application/json"), "").is_empty());
}

#[test]
fn a_json_body_is_checked_against_its_schema_with_pointers() {
    let body = r#"{"pets":[{"id":1},{"id":"x","tag":3},{}]}"#;
    assert_eq!(
        problems(CHECKED, "listPets", 200, Some("application/json"), body),
        [
            "`/pets/1/id`: expected integer, found string \"x\" | /pets/1/id | /components/schemas/Pet/properties/id/type",
            "`/pets/1/tag`: expected null or string, found integer 3 | /pets/1/tag | /components/schemas/Pet/properties/tag/type",
            "`/pets/2`: required property `id` is missing | /pets/2 | /components/schemas/Pet/required",
        ]
    );
    assert_eq!(
        problems(
            CHECKED,
            "listPets",
            404,
            Some("application/problem+json"),
            "{}"
        ),
        [
            "the body: required property `title` is missing |  | /paths/~1pets/get/responses/4XX/content/application~1problem+json/schema/required"
        ]
    );
    let broken = problems(
        CHECKED,
        "listPets",
        200,
        Some("application/json"),
        "{\"pets\":",
    );
    assert_eq!(broken.len(), 1);
    assert!(
        broken[0].starts_with(
            "the body is not JSON, though its content type is `application/json`: EOF"
        ),
        "{broken:?}"
    );
}

#[test]
fn openapi_3_0_schemas_keep_their_own_meaning() {
    let text = r##"openapi: 3.0.3
paths:
  /pets/{id}:
    get:
      operationId: showPet
      responses:
        "200":
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Pet" }
components:
  schemas:
    Pet:
      type: object
      required: [id]
      properties:
        id: { type: integer, minimum: 0, exclusiveMinimum: true }
        tag: { type: string, nullable: true }
        owner: { $ref: "#/components/schemas/Owner", type: string }
    Owner: { type: object }
"##;
    let check = |body: &str| problems(text, "showPet", 200, Some("application/json"), body);
    assert!(check(r#"{"id":1,"tag":null,"owner":{}}"#).is_empty());
    assert_eq!(
        check(r#"{"id":0,"tag":1}"#),
        [
            "`/id`: 0 is less than or equal to the minimum of 0 | /id | /components/schemas/Pet/properties/id/exclusiveMinimum",
            "`/tag`: expected null or string, found integer 1 | /tag | /components/schemas/Pet/properties/tag/type",
        ]
    );
}

#[test]
fn schemas_in_other_files_are_checked_and_compiled_once() {
    let dir = folder("schemas");
    std::fs::write(
        dir.join("api/main.yaml"),
        "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      operationId: a\n      responses:\n        '200':\n          content:\n            application/json:\n              schema: { $ref: 'shared/pet.yaml' }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("api/shared/pet.yaml"),
        "type: object\nproperties:\n  id: { $ref: '#/$defs/Id' }\n$defs:\n  Id: { type: integer }\n",
    )
    .unwrap();
    let api = Description::load(&dir.join("api/main.yaml"), &FileAccess::default()).unwrap();
    let op = api.operation_by_id("a").unwrap();
    let found = op.check_response(&api, 200, Some("application/json"), br#"{"id":"1"}"#);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].message,
        "`/id`: expected integer, found string \"1\""
    );
    let place = found[0].schema_pointer.as_deref().unwrap();
    assert!(place.ends_with("shared/pet.yaml#/$defs/Id/type"), "{place}");
    let media = &op.responses[0].content[0];
    let first = schema::validator(&api, media.document, &media.schema_pointer);
    let again = schema::validator(&api.clone(), media.document, &media.schema_pointer);
    assert!(std::sync::Arc::ptr_eq(&first, &again));
    let _ = std::fs::remove_dir_all(&dir);
}

//! Bodies read from files: `body: { file }` streamed as it is, `body: { template }` rendered,
//! and `multipart:` forms whose files are streamed.

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

use super::Runner;
use crate::diagnostic::Diagnostic;
use crate::format::model::{FilePath, MultipartPart, PartValue, Step, TemplateId, Text};
use crate::http::body::{self, Body, Content, FileRef, Multipart, Part};

impl Runner<'_> {
    /// Builds `body: { file }`: the file's size is read now, its bytes as they are sent.
    pub(super) fn file_body(
        &mut self,
        step: &Step,
        file: &FilePath,
        content_type: Option<&Text>,
        headers: &mut HeaderMap,
    ) -> Result<Body, Diagnostic> {
        let file = self.file_ref(step, file)?;
        let content_type = match content_type {
            Some(text) => self.text(text, step)?,
            None => body::guess_content_type(&file.shown).to_owned(),
        };
        set_content_type(headers, &content_type, step)?;
        Ok(Body::File(file))
    }

    /// Builds `body: { template }`: the file's text rendered like any other template.
    pub(super) fn template_body(
        &mut self,
        step: &Step,
        template: Option<TemplateId>,
        content_type: Option<&Text>,
        headers: &mut HeaderMap,
    ) -> Result<Body, Diagnostic> {
        let rendered = match template {
            Some(id) => self.text(&Text::Template(id), step)?,
            None => String::new(),
        };
        if let Some(text) = content_type {
            let content_type = self.text(text, step)?;
            set_content_type(headers, &content_type, step)?;
        }
        Ok(Body::from(rendered.into_bytes()))
    }

    /// Builds `multipart:`: text parts rendered now, files streamed as they are sent, under a
    /// new boundary that `Content-Type` names (replacing any given, which could not name it).
    pub(super) fn multipart_body(
        &mut self,
        step: &Step,
        parts: &[MultipartPart],
        headers: &mut HeaderMap,
    ) -> Result<Body, Diagnostic> {
        let mut out = Vec::with_capacity(parts.len());
        for part in parts {
            let name = match &part.name_template {
                Some(template) => self.text(template, step)?,
                None => part.name.value.clone(),
            };
            out.push(match &part.value {
                PartValue::Text(text) => Part {
                    name,
                    filename: None,
                    content_type: None,
                    content: Content::Text(self.text(text, step)?),
                },
                PartValue::File {
                    file,
                    filename,
                    content_type,
                } => {
                    let file = self.file_ref(step, file)?;
                    let filename = match filename {
                        Some(text) => self.text(text, step)?,
                        None => std::path::Path::new(&file.shown)
                            .file_name()
                            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                    };
                    let content_type = match content_type {
                        Some(text) => self.text(text, step)?,
                        None => body::guess_content_type(&file.shown).to_owned(),
                    };
                    Part {
                        name,
                        filename: Some(filename),
                        content_type: Some(content_type),
                        content: Content::File(file),
                    }
                }
            });
        }
        let form = Multipart::new(out);
        let value = HeaderValue::from_str(&form.content_type()).map_err(|_| {
            Diagnostic::error("the multipart `Content-Type` cannot be sent")
                .in_step(Some(&step.name))
        })?;
        headers.insert(CONTENT_TYPE, value);
        Ok(Body::Multipart(form))
    }

    /// Reads the size of a file validation found, pointing at its path when it has gone since.
    fn file_ref(&self, step: &Step, file: &FilePath) -> Result<FileRef, Diagnostic> {
        let written = &file.written;
        let fail = |why: String| {
            Diagnostic::error(format!("cannot read `{}`: {why}", written.value))
                .at(&self.plan.workflow.source, written.span, why)
                .in_step(Some(&step.name))
        };
        let Some(path) = &file.resolved else {
            return Err(fail("the path was not checked".into()));
        };
        FileRef::new(path.clone(), written.value.clone()).map_err(|e| {
            fail(match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".into(),
                _ => e.to_string(),
            })
        })
    }
}

/// Sets `Content-Type` unless the request's headers give one.
fn set_content_type(
    headers: &mut HeaderMap,
    content_type: &str,
    step: &Step,
) -> Result<(), Diagnostic> {
    if headers.contains_key(CONTENT_TYPE) {
        return Ok(());
    }
    let value = HeaderValue::from_str(content_type).map_err(|_| {
        Diagnostic::error(format!("the content type `{content_type}` cannot be sent"))
            .in_step(Some(&step.name))
            .help("a content type such as `application/pdf`, without line breaks")
    })?;
    headers.insert(CONTENT_TYPE, value);
    Ok(())
}

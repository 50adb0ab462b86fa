//! AWS credentials for `auth.type: aws_sigv4`, found where the AWS CLI finds them:
//! `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, else the profile
//! (`auth.aws_profile`, else `$AWS_PROFILE`, else `default`) of the shared files,
//! `~/.aws/credentials` (`$AWS_SHARED_CREDENTIALS_FILE`) then `~/.aws/config`
//! (`$AWS_CONFIG_FILE`, sections `[profile NAME]`): static keys, else
//! `credential_process`. Each secret is registered with the masking point as it is read.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::AuthError;
use crate::secret::Secret;

/// How long a `credential_process` may run.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

/// Credentials, and where they came from (for messages).
#[derive(Debug, Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    pub source: String,
}

fn fail(msg: impl Into<String>) -> AuthError {
    AuthError::BadResponse(msg.into())
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn home_file(var: &str, rel: &str) -> Option<PathBuf> {
    env(var)
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().join(".aws").join(rel)))
}

/// The credentials for `aws_profile`: the environment's, else the shared files'.
pub async fn resolve(aws_profile: Option<&str>) -> Result<AwsCredentials, AuthError> {
    if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        return Ok(AwsCredentials {
            access_key_id: id,
            secret_access_key: Secret::new(secret),
            session_token: env("AWS_SESSION_TOKEN").map(Secret::new),
            source: "the environment (AWS_ACCESS_KEY_ID)".into(),
        });
    }
    let name = aws_profile
        .map(String::from)
        .or_else(|| env("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into());
    let creds_file = home_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config_file = home_file("AWS_CONFIG_FILE", "config");
    let mut looked = Vec::new();
    for (file, section) in [
        (creds_file, name.clone()),
        (
            config_file,
            if name == "default" {
                name.clone()
            } else {
                format!("profile {name}")
            },
        ),
    ] {
        let Some(file) = file else { continue };
        looked.push(file.display().to_string());
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let Some(keys) = parse_ini(&text).remove(&section) else {
            continue;
        };
        let source = format!("{} [{section}]", file.display());
        if let (Some(id), Some(secret)) = (
            keys.get("aws_access_key_id"),
            keys.get("aws_secret_access_key"),
        ) {
            return Ok(AwsCredentials {
                access_key_id: id.clone(),
                secret_access_key: Secret::new(secret.clone()),
                session_token: keys.get("aws_session_token").cloned().map(Secret::new),
                source,
            });
        }
        if let Some(command) = keys.get("credential_process") {
            return run_process(command, &source).await;
        }
    }
    Err(fail(format!(
        "aws_sigv4: no AWS credentials found: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, and profile `{name}` has neither keys nor credential_process in {}",
        if looked.is_empty() {
            "the shared files (no home folder)".to_string()
        } else {
            looked.join(" or ")
        }
    )))
}

/// `[section]` → key → value, for the AWS shared files (`#`/`;` comments, `key = value`).
fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            out.entry(name.clone()).or_default();
            current = Some(name);
        } else if let (Some(section), Some((k, v))) = (&current, line.split_once('=')) {
            out.entry(section.clone())
                .or_default()
                .insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    out
}

/// Runs a `credential_process` as botocore does: split like a POSIX shell line
/// (quotes, backslashes) and run without a shell; stdout is the JSON of the AWS CLI's
/// process-credential protocol (`Version: 1`).
async fn run_process(command: &str, source: &str) -> Result<AwsCredentials, AuthError> {
    let argv = shell_words::split(command).map_err(|e| {
        fail(format!(
            "{source}: credential_process cannot be split into words: {e}"
        ))
    })?;
    let Some((program, args)) = argv.split_first() else {
        return Err(fail(format!("{source}: credential_process is empty")));
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        // Captured and not shown: it may hold secrets runner cannot mask.
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(PROCESS_TIMEOUT, child).await {
        Err(_) => {
            return Err(fail(format!(
                "{source}: credential_process `{program}` did not finish within {} s",
                PROCESS_TIMEOUT.as_secs()
            )));
        }
        Ok(Err(e)) => {
            return Err(fail(format!(
                "{source}: cannot run credential_process `{program}`: {e}"
            )));
        }
        Ok(Ok(out)) => out,
    };
    if !out.status.success() {
        // What it said may hold secrets runner never saw, which no mask would catch.
        return Err(fail(format!(
            "{source}: credential_process `{program}` failed ({}); what it wrote to stderr is not shown: run it yourself to see",
            out.status
        )));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|_| {
        fail(format!(
            "{source}: credential_process `{program}` did not print JSON"
        ))
    })?;
    let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
    // The secrets first, before anything can quote them.
    let secret = field("SecretAccessKey").map(Secret::new);
    let token = field("SessionToken").map(Secret::new);
    if v.get("Version").and_then(|x| x.as_u64()) != Some(1) {
        return Err(fail(format!(
            "{source}: credential_process `{program}` printed no \"Version\": 1"
        )));
    }
    match (field("AccessKeyId"), secret) {
        (Some(id), Some(secret)) => Ok(AwsCredentials {
            access_key_id: id,
            secret_access_key: secret,
            session_token: token,
            source: format!("{source} credential_process"),
        }),
        _ => Err(fail(format!(
            "{source}: credential_process `{program}` printed no AccessKeyId and SecretAccessKey"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_of_the_shared_files() {
        let ini = parse_ini(
            "# c\n[default]\naws_access_key_id = A\n[profile  dev ]\nCredential_Process = x 'a b'\n; c\n",
        );
        assert_eq!(ini["default"]["aws_access_key_id"], "A");
        assert_eq!(ini["profile dev"]["credential_process"], "x 'a b'");
    }
}

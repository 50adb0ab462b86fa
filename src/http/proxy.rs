//! Which proxy a request goes through: `http.proxy` (a URL, or `none`), else the
//! environment's `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` with `NO_PROXY` (reqwest's
//! system proxy, which tunnels https with CONNECT). `-v` names the proxy of each
//! request through [`ProxySetting::describe`].

/// `http.proxy`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// The environment's variables (reqwest's system proxy).
    #[default]
    Environment,
    /// `none`: straight to every server, whatever the environment says.
    Off,
    /// Every request through this proxy (its userinfo is registered as a secret).
    Url(url::Url),
}

impl ProxySetting {
    /// `builder` going through this proxy.
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, String> {
        Ok(match self {
            ProxySetting::Environment => builder,
            ProxySetting::Off => builder.no_proxy(),
            ProxySetting::Url(u) => {
                let proxy = reqwest::Proxy::all(u.as_str())
                    .map_err(|e| format!("http.proxy: {}", crate::http::error_chain(&e)))?;
                builder.proxy(proxy)
            }
        })
    }

    /// Which proxy a request to `target` goes through, for `-v`: `None` when it
    /// goes straight to the server. Credentials in the proxy URL are masked by the
    /// masking point.
    pub fn describe(&self, target: &url::Url) -> Option<String> {
        match self {
            ProxySetting::Off => None,
            ProxySetting::Url(u) => Some(format!("{} (http.proxy)", shown(u.as_str()))),
            ProxySetting::Environment => {
                let (name, value) = env_proxy(target.scheme())?;
                let host = target.host_str().unwrap_or("");
                if let Some((_, list)) = env_var(&["NO_PROXY", "no_proxy"])
                    && no_proxy_matches(&list, host)
                {
                    return None;
                }
                crate::secret::register_userinfo(&value);
                Some(format!("{} ({name})", shown(&value)))
            }
        }
    }

    /// Whether no proxy can apply to any plain-http request: `none`, or no variable
    /// names one for http (`NO_PROXY` is not weighed: a proxy it may skip counts). On
    /// macOS and Windows reqwest's system proxy also reads the system's settings,
    /// which only reqwest knows: there only `none` says so.
    pub fn never_for_http(&self) -> bool {
        match self {
            ProxySetting::Off => true,
            ProxySetting::Url(_) => false,
            ProxySetting::Environment => {
                cfg!(not(any(target_os = "macos", target_os = "windows")))
                    && env_proxy("http").is_none()
            }
        }
    }
}

/// A proxy URL with its userinfo kept for the masking point to hide.
fn shown(s: &str) -> String {
    s.trim_end_matches('/').to_string()
}

/// The first of `names` set to a non-empty value.
fn env_var(names: &[&'static str]) -> Option<(&'static str, String)> {
    names.iter().find_map(|n| {
        std::env::var(n)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| (*n, v))
    })
}

/// The variable that names the proxy for `scheme`, as reqwest reads them.
fn env_proxy(scheme: &str) -> Option<(&'static str, String)> {
    let own = if scheme == "https" {
        env_var(&["HTTPS_PROXY", "https_proxy"])
    } else {
        env_var(&["HTTP_PROXY", "http_proxy"])
    };
    own.or_else(|| env_var(&["ALL_PROXY", "all_proxy"]))
}

/// Whether `NO_PROXY` (comma-separated names, `.suffix`, IPs, `*`) excludes `host`.
fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    list.split(',').map(str::trim).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = entry.trim_start_matches('.');
        !entry.is_empty()
            && (host.eq_ignore_ascii_case(entry)
                || host
                    .to_ascii_lowercase()
                    .ends_with(&format!(".{}", entry.to_ascii_lowercase())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_entries_match_hosts_and_their_subdomains() {
        let list = "localhost, .corp.example,10.0.0.1";
        for (host, excluded) in [
            ("localhost", true),
            ("api.corp.example", true),
            ("corp.example", true),
            ("notcorp.example", false),
            ("10.0.0.1", true),
            ("10.0.0.10", false),
        ] {
            assert_eq!(no_proxy_matches(list, host), excluded, "{host}");
        }
        assert!(no_proxy_matches("*", "anything"));
    }
}

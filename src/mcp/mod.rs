//! `runner mcp`: a project's request files as tools for AI agents, over the Model
//! Context Protocol on stdio (the official Rust SDK, `rmcp`). The agent names a tool
//! and gives values; runner renders, sends with the profile's session (the same locked
//! cache as every other command) and answers with status, extracted values and
//! failures, masked. The token never reaches the agent.
//!
//! The MCP service runs on its own tasks and holds only the tool list; calls come to
//! the command's own task over a channel, where the profile's `Env` lives, and run
//! there side by side, at most [`MAX_CALLS`] at once: they share the one session, whose
//! lock makes one of them refresh the token for all.

mod call;
mod flow;
mod tools;

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use rmcp::ServiceExt;
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
    Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
    Tool, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

use crate::cli::{GlobalArgs, McpArgs};
use crate::env::Env;
use crate::error::Error;
use call::Answer;
use tools::Catalog;

/// Calls that run at once; more wait for one of them to end.
pub const MAX_CALLS: usize = 8;

/// A call handed from the MCP service to the command's task.
struct Job {
    tool: usize,
    args: Option<Map<String, Value>>,
    reply: oneshot::Sender<Answer>,
}

/// The MCP side: the tools as listed, and the way to the task that runs them.
struct Server {
    tools: Arc<Vec<Tool>>,
    jobs: mpsc::Sender<Job>,
}

/// `runner mcp`.
pub async fn mcp(global: &GlobalArgs, args: &McpArgs) -> Result<u8, Error> {
    // stdin and stdout belong to the MCP client: no prompt, no login in a browser.
    crate::auth::forbid_prompts();
    let env = Env::open(global).await?;
    let roots = if args.paths.is_empty() {
        vec![env.project.root.join("requests")]
    } else {
        args.paths.clone()
    };
    let catalog = tools::discover(&env, &roots, args.allow_writes);
    if !global.quiet {
        summary(&env, &catalog, &roots);
    }
    let listed: Vec<Tool> = catalog.tools.iter().map(listed_tool).collect();
    let (jobs, mut incoming) = mpsc::channel::<Job>(16);
    let server = Server {
        tools: Arc::new(listed),
        jobs,
    };
    let service = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Error::io("MCP", std::io::Error::other(e.to_string())))?;
    let limit = args
        .call_timeout
        .map_or(call::CALL_TIMEOUT, std::time::Duration::from_secs);
    // Calls run here, where `env` lives, several at once; the service ends at the end
    // of stdin, and with it the channel.
    let work = async {
        let mut running = FuturesUnordered::new();
        let mut open = true;
        loop {
            tokio::select! {
                job = incoming.recv(), if open && running.len() < MAX_CALLS => match job {
                    Some(job) => running.push(async {
                        let job: Job = job;
                        let tool = &catalog.tools[job.tool];
                        let answer = call::call(&env, tool, job.args, limit).await;
                        let _ = job.reply.send(answer);
                    }),
                    None => open = false,
                },
                Some(()) = running.next(), if !running.is_empty() => {}
                else => break,
            }
        }
    };
    let (quit, ()) = tokio::join!(service.waiting(), work);
    quit.map_err(|e| Error::io("MCP", std::io::Error::other(e.to_string())))?;
    Ok(0)
}

/// The tool as `tools/list` shows it.
fn listed_tool(t: &tools::ToolFile) -> Tool {
    let read_only = t.read_only();
    let mut annotations = ToolAnnotations::new();
    annotations.read_only_hint = Some(read_only);
    annotations.open_world_hint = Some(true);
    let mut tool = Tool::new(t.name.clone(), t.description.clone(), t.input_schema());
    tool.annotations = Some(annotations);
    tool
}

/// What is served, on stderr: the tools and the files left out, each with why.
fn summary(env: &Env, catalog: &Catalog, roots: &[PathBuf]) {
    let under = roots
        .iter()
        .map(|r| crate::project::display_path(r).display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let n = catalog.tools.len();
    eprintln!(
        "runner mcp: profile `{}`, {n} tool{} from {under}",
        env.profile_name,
        if n == 1 { "" } else { "s" }
    );
    for t in &catalog.tools {
        eprintln!(
            "  {}  {} {}",
            t.name,
            t.sends(),
            crate::project::display_path(&t.path).display()
        );
    }
    if !catalog.left_out.is_empty() {
        eprintln!("not served:");
        for (path, why) in &catalog.left_out {
            eprintln!("  {}: {why}", crate::project::display_path(path).display());
        }
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("runner", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Each tool sends one reviewed HTTP request (or a reviewed flow of them) with \
                 the user's session; arguments are plain values.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(tool) = self.tools.iter().position(|t| t.name == request.name) else {
            let name: Cow<'static, str> = request.name;
            return Err(ErrorData::invalid_params(
                format!("no tool named `{name}`"),
                None,
            ));
        };
        let (reply, answer) = oneshot::channel();
        let job = Job {
            tool,
            args: request.arguments,
            reply,
        };
        let gone = || ErrorData::internal_error("runner mcp is stopping", None);
        self.jobs.send(job).await.map_err(|_| gone())?;
        let answer = answer.await.map_err(|_| gone())?;
        let content = vec![ContentBlock::text(answer.text)];
        let result = if answer.is_error {
            CallToolResult::error(content)
        } else {
            CallToolResult::success(content)
        };
        Ok(result.into())
    }
}

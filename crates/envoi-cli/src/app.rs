//! The whole run: the command line into groups, then each group's transfers, serially or in
//! parallel, and the exit code of the last transfer (curl's rule).

use std::ffi::OsString;
use std::io::Write;
use std::sync::Arc;

use clap::CommandFactory;

use crate::args::Args;
use crate::client::Front;
use crate::error::CliError;
use crate::output::HeaderDump;
use crate::parallel::{self, DEFAULT_PARALLEL_MAX};
use crate::plan::{self, Group};
use crate::trace::Trace;
use crate::transfer::{self, GroupContext};
use crate::{argv, client, data, policy, serve};

/// What the command line asks for.
pub enum Invocation {
    /// `--help`.
    Help,
    /// `--version`.
    Version,
    /// `--serve`.
    Serve,
    /// Transfers, one group per `--next` section.
    Transfers(Vec<Group>),
}

/// Parses the whole command line; warnings (unreadable `-d @file`) go to stderr unless `-s`.
pub fn parse(args: impl Iterator<Item = OsString>) -> Result<Invocation, CliError> {
    let args = args
        .map(|a| {
            a.into_string()
                .map_err(|a| CliError::usage(format!("argument {a:?} is not valid UTF-8")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if args.is_empty() {
        return Err(CliError::usage("no URL specified!"));
    }
    let mut groups = Vec::new();
    let mut numbered = 0;
    for argv in argv::split(args)? {
        let mut warnings = Vec::new();
        let group = plan::parse_group(argv, numbered, &mut |w| warnings.push(w))?;
        if !group.args.silent {
            for w in warnings {
                eprintln!("{w}");
            }
        }
        if group.args.help {
            return Ok(Invocation::Help);
        }
        if group.args.version {
            return Ok(Invocation::Version);
        }
        if group.args.serve {
            return Ok(Invocation::Serve);
        }
        numbered += group.transfers.len();
        groups.push(group);
    }
    Ok(Invocation::Transfers(groups))
}

/// Runs what was asked; returns the process exit code.
pub fn run(invocation: Invocation) -> u8 {
    match invocation {
        Invocation::Help => {
            let help = Args::command().render_help();
            let _ = writeln!(std::io::stdout(), "{help}");
            0
        }
        Invocation::Version => {
            let _ = writeln!(
                std::io::stdout(),
                "envoi {v} (envoi/{v} rustls/0.23)\nProtocols: http https\n\
                 Features: HTTPS-proxy IPv6 Largefile libz brotli zstd cookies digest",
                v = env!("CARGO_PKG_VERSION")
            );
            0
        }
        Invocation::Serve => match serve::serve() {
            Ok(()) => 0,
            Err(e) => {
                e.report(false);
                e.exit_code()
            }
        },
        Invocation::Transfers(groups) => {
            let mut last = 0;
            for group in groups {
                last = run_group(group);
            }
            last
        }
    }
}

/// Runs one group's transfers; returns the exit code of its last one.
fn run_group(group: Group) -> u8 {
    let quiet = group.args.silent && !group.args.show_error;
    let ctx = match context(group) {
        Ok(ctx) => Arc::new(ctx),
        Err(e) => {
            e.report(quiet && !matches!(e, CliError::Usage(_)));
            return e.exit_code();
        }
    };
    let codes = match &ctx.client.front {
        Front::Async(client) => {
            let max = ctx
                .group
                .args
                .parallel_max
                .map_or(DEFAULT_PARALLEL_MAX, usize::from);
            let client = client.clone();
            parallel::run_all(&ctx, client, max)
        }
        Front::Blocking(client) => ctx
            .group
            .transfers
            .iter()
            .map(|spec| transfer::run(&ctx, client, spec))
            .collect(),
    };
    let mut last = codes.last().copied().unwrap_or(0);
    if let (Some(path), Some(jar)) = (&ctx.group.args.cookie_jar, &ctx.client.jar) {
        if let Err(e) = policy::save_cookies(jar, path) {
            e.report(quiet);
            if last == 0 {
                last = e.exit_code();
            }
        }
    }
    last
}

fn context(group: Group) -> Result<GroupContext, CliError> {
    let parallel = group.args.parallel && group.transfers.len() > 1;
    let client = client::build(&group, parallel)?;
    let trace_file: Option<Box<dyn Write + Send>> = match group.args.trace_ascii.as_deref() {
        None => None,
        Some("-") => Some(Box::new(std::io::stdout())),
        Some(path) => Some(Box::new(std::fs::File::create(path).map_err(|e| {
            CliError::code(
                crate::exit_code::WRITE_ERROR,
                format!("Failed to create/open output '{path}': {e}"),
            )
        })?)),
    };
    let trace = Arc::new(Trace::new(group.args.verbose, trace_file));
    let auth = policy::auth(&group)?;
    let dump = group.args.dump_header.as_deref().map(HeaderDump::new);
    let write_out = match group.args.write_out.as_deref() {
        Some(format) => Some(match format.strip_prefix('@') {
            Some(path) => {
                let bytes = data::read_file_or_stdin(path, "write-out format")?;
                String::from_utf8_lossy(&bytes).into_owned()
            }
            None => format.to_owned(),
        }),
        None => None,
    };
    Ok(GroupContext {
        group,
        client,
        trace,
        auth,
        dump,
        write_out,
        parallel,
    })
}

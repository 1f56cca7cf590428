//! The tool's own failures, printed in curl's style: `envoi: option -m: expected a proper
//! numerical parameter` for a bad command line (exit 2), `envoi: (7) could not connect ...`
//! for a failed transfer.

use std::fmt;

use crate::exit_code;

/// A failure of the tool: a bad command line, or a transfer that ended with an exit code.
#[derive(Debug)]
pub enum CliError {
    /// The command line is wrong: printed with a pointer to `--help`, exit 2.
    Usage(String),
    /// A transfer (or its set-up) failed with a curl exit code.
    Transfer {
        /// The exit code.
        code: u8,
        /// What went wrong, in words.
        message: String,
    },
}

impl CliError {
    /// A command-line mistake.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    /// A failure with an exit code.
    pub fn code(code: u8, message: impl Into<String>) -> Self {
        CliError::Transfer {
            code,
            message: message.into(),
        }
    }

    /// A library error, with the exit code the table gives it.
    pub fn from_envoi(error: &envoi::Error, via_proxy: bool) -> Self {
        CliError::code(exit_code::for_error(error, via_proxy), format!("{error:#}"))
    }

    /// A local file that could not be read (exit 26).
    pub fn read(what: &str, path: &str, error: &std::io::Error) -> Self {
        CliError::code(
            exit_code::READ_ERROR,
            format!("Failed to read {what} '{path}': {error}"),
        )
    }

    /// A feature this build does not have yet (exit 4).
    pub fn unsupported(what: &str) -> Self {
        CliError::code(
            exit_code::NOT_BUILT_IN,
            format!("{what}: not supported yet by this build of envoi"),
        )
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => exit_code::FAILED_INIT,
            CliError::Transfer { code, .. } => *code,
        }
    }

    /// Prints the message to stderr as curl does. Usage errors always print; transfer
    /// errors print unless `silent` (curl's `-s` without `-S`).
    pub fn report(&self, silent: bool) {
        match self {
            CliError::Usage(_) => eprintln!("{self}"),
            CliError::Transfer { .. } if !silent => eprintln!("{self}"),
            CliError::Transfer { .. } => {}
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(message) => write!(
                f,
                "envoi: {message}\nenvoi: try 'envoi --help' for more information"
            ),
            CliError::Transfer { code, message } => write!(f, "envoi: ({code}) {message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_curls_shape() {
        let e = CliError::usage("option --foo: is unknown");
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "envoi: option --foo: is unknown\nenvoi: try 'envoi --help' for more information"
        );
        let e = CliError::code(7, "could not connect");
        assert_eq!(e.to_string(), "envoi: (7) could not connect");
    }
}

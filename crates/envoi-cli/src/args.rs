//! The command line, as clap sees it: every option with curl's spelling and meaning.
//!
//! Each option here has a page under `docs/options/<long>.md` whose front matter repeats its
//! long name, short letter, argument name and help line; a test keeps the two in step.
//! Options whose order matters (data pieces, outputs, URLs) are read back in command-line
//! order with [`clap::ArgMatches::indices_of`] by `plan.rs`.

use clap::{ArgAction, Parser};

/// What `--help` prints after the options: where the exit codes come from.
fn after_help() -> String {
    format!(
        "Exit codes (as curl's; `envoi: (N) message` names the code on stderr):\n{}",
        crate::exit_code::help_table()
    )
}

/// Every option `envoi` understands. Field names are the long names in snake case.
#[derive(Parser, Debug, Default)]
#[command(
    name = "envoi",
    bin_name = "envoi",
    about = "envoi: transfer URLs over HTTP and HTTPS, with curl's options and exit codes.",
    override_usage = "envoi [options...] <url>...",
    disable_version_flag = true,
    disable_help_flag = true,
    after_help = after_help(),
    max_term_width = 100
)]
pub struct Args {
    /// URLs to transfer
    #[arg(value_name = "url", allow_hyphen_values = false)]
    pub urls: Vec<String>,

    // ---- the request ----
    /// URL to transfer (like a plain argument)
    #[arg(long = "url", value_name = "url", action = ArgAction::Append)]
    pub url: Vec<String>,
    /// Request method to use
    #[arg(short = 'X', long = "request", value_name = "method")]
    pub request: Option<String>,
    /// Pass custom header(s) to server
    #[arg(
        short = 'H',
        long = "header",
        value_name = "header/@file",
        allow_hyphen_values = true
    )]
    pub header: Vec<String>,
    /// HTTP POST data
    #[arg(
        short = 'd',
        long = "data",
        value_name = "data",
        allow_hyphen_values = true
    )]
    pub data: Vec<String>,
    /// HTTP POST ASCII data
    #[arg(long = "data-ascii", value_name = "data", allow_hyphen_values = true)]
    pub data_ascii: Vec<String>,
    /// HTTP POST binary data
    #[arg(long = "data-binary", value_name = "data", allow_hyphen_values = true)]
    pub data_binary: Vec<String>,
    /// HTTP POST data, '@' allowed
    #[arg(long = "data-raw", value_name = "data", allow_hyphen_values = true)]
    pub data_raw: Vec<String>,
    /// HTTP POST data url encoded
    #[arg(
        long = "data-urlencode",
        value_name = "data",
        allow_hyphen_values = true
    )]
    pub data_urlencode: Vec<String>,
    /// HTTP POST JSON
    #[arg(long = "json", value_name = "data", allow_hyphen_values = true)]
    pub json: Vec<String>,
    /// Specify multipart MIME data
    #[arg(
        short = 'F',
        long = "form",
        value_name = "name=content",
        allow_hyphen_values = true
    )]
    pub form: Vec<String>,
    /// Specify multipart MIME data, taken literally
    #[arg(
        long = "form-string",
        value_name = "name=string",
        allow_hyphen_values = true
    )]
    pub form_string: Vec<String>,
    /// Put the post data in the URL and use GET
    #[arg(short = 'G', long = "get")]
    pub get: bool,
    /// Transfer local FILE to destination
    #[arg(
        short = 'T',
        long = "upload-file",
        value_name = "file",
        allow_hyphen_values = true
    )]
    pub upload_file: Vec<String>,
    /// Show document info only
    #[arg(short = 'I', long = "head")]
    pub head: bool,
    /// Send User-Agent <name> to server
    #[arg(
        short = 'A',
        long = "user-agent",
        value_name = "name",
        allow_hyphen_values = true
    )]
    pub user_agent: Option<String>,
    /// Referrer URL
    #[arg(short = 'e', long = "referer", value_name = "URL")]
    pub referer: Option<String>,
    /// Send cookies from string/file
    #[arg(short = 'b', long = "cookie", value_name = "data|filename")]
    pub cookie: Vec<String>,
    /// Write cookies to <filename> after operation
    #[arg(short = 'c', long = "cookie-jar", value_name = "filename")]
    pub cookie_jar: Option<String>,
    /// Ignore session cookies read from file
    #[arg(short = 'j', long = "junk-session-cookies")]
    pub junk_session_cookies: bool,
    /// Server user and password
    #[arg(short = 'u', long = "user", value_name = "user:password")]
    pub user: Option<String>,
    /// Use HTTP Basic Authentication
    #[arg(long = "basic")]
    pub basic: bool,
    /// Use HTTP Digest Authentication
    #[arg(long = "digest")]
    pub digest: bool,
    /// Pick any authentication method
    #[arg(long = "anyauth")]
    pub anyauth: bool,
    /// OAuth 2 Bearer Token
    #[arg(long = "oauth2-bearer", value_name = "token")]
    pub oauth2_bearer: Option<String>,
    /// Request compressed response
    #[arg(long = "compressed")]
    pub compressed: bool,

    // ---- where the response goes ----
    /// Write to file instead of stdout
    #[arg(
        short = 'o',
        long = "output",
        value_name = "file",
        allow_hyphen_values = true
    )]
    pub output: Vec<String>,
    /// Write output to a file named as the remote file
    #[arg(
        short = 'O',
        long = "remote-name",
        num_args = 0,
        default_missing_value = "-O",
        action = ArgAction::Append
    )]
    pub remote_name: Vec<String>,
    /// Use the remote file name for all URLs
    #[arg(long = "remote-name-all")]
    pub remote_name_all: bool,
    /// Directory to save files in
    #[arg(long = "output-dir", value_name = "dir")]
    pub output_dir: Option<String>,
    /// Create necessary local directory hierarchy
    #[arg(long = "create-dirs")]
    pub create_dirs: bool,
    /// Resumed transfer offset
    #[arg(
        short = 'C',
        long = "continue-at",
        value_name = "offset",
        allow_hyphen_values = true
    )]
    pub continue_at: Option<String>,
    /// Include protocol response headers in the output
    #[arg(short = 'i', long = "include")]
    pub include: bool,
    /// Write the received headers to <filename>
    #[arg(
        short = 'D',
        long = "dump-header",
        value_name = "filename",
        allow_hyphen_values = true
    )]
    pub dump_header: Option<String>,
    /// Use output FORMAT after completion
    #[arg(
        short = 'w',
        long = "write-out",
        value_name = "format",
        allow_hyphen_values = true
    )]
    pub write_out: Option<String>,
    /// Silent mode
    #[arg(short = 's', long = "silent")]
    pub silent: bool,
    /// Show error even when -s is used
    #[arg(short = 'S', long = "show-error")]
    pub show_error: bool,
    /// Do not show the progress meter
    #[arg(long = "no-progress-meter")]
    pub no_progress_meter: bool,
    /// Fail silently (no output at all) on HTTP errors
    #[arg(short = 'f', long = "fail")]
    pub fail: bool,
    /// Fail on HTTP errors but save the body
    #[arg(long = "fail-with-body")]
    pub fail_with_body: bool,
    /// Make the operation more talkative
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Like --trace, but without hex output
    #[arg(long = "trace-ascii", value_name = "file", allow_hyphen_values = true)]
    pub trace_ascii: Option<String>,

    // ---- redirects ----
    /// Follow redirects
    #[arg(short = 'L', long = "location")]
    pub location: bool,
    /// Maximum number of redirects allowed
    #[arg(long = "max-redirs", value_name = "num", allow_hyphen_values = true)]
    pub max_redirs: Option<i64>,
    /// Do not switch to GET after following a 301
    #[arg(long = "post301")]
    pub post301: bool,
    /// Do not switch to GET after following a 302
    #[arg(long = "post302")]
    pub post302: bool,
    /// Do not switch to GET after following a 303
    #[arg(long = "post303")]
    pub post303: bool,
    /// Follow redirects from https to http (envoi)
    #[arg(long = "ignore-redirect-to-http")]
    pub ignore_redirect_to_http: bool,

    // ---- time ----
    /// Maximum time allowed for the transfer
    #[arg(short = 'm', long = "max-time", value_name = "seconds")]
    pub max_time: Option<f64>,
    /// Maximum time allowed for connection
    #[arg(long = "connect-timeout", value_name = "seconds")]
    pub connect_timeout: Option<f64>,
    /// Retry request if transient problems occur
    #[arg(long = "retry", value_name = "num")]
    pub retry: Option<u32>,
    /// Wait time between retries
    #[arg(long = "retry-delay", value_name = "seconds")]
    pub retry_delay: Option<u64>,
    /// Retry only within this period
    #[arg(long = "retry-max-time", value_name = "seconds")]
    pub retry_max_time: Option<u64>,

    // ---- TLS ----
    /// Allow insecure server connections
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,
    /// CA certificate to verify peer against
    #[arg(long = "cacert", value_name = "file")]
    pub cacert: Option<String>,
    /// CA directory to verify peer against
    #[arg(long = "capath", value_name = "dir")]
    pub capath: Option<String>,
    /// Client certificate file
    #[arg(short = 'E', long = "cert", value_name = "certificate")]
    pub cert: Option<String>,
    /// Private key file name
    #[arg(long = "key", value_name = "key")]
    pub key: Option<String>,
    /// Get a CRL list in PEM format from the given file
    #[arg(long = "crlfile", value_name = "file")]
    pub crlfile: Option<String>,
    /// Public key to verify peer against
    #[arg(long = "pinnedpubkey", value_name = "hashes")]
    pub pinnedpubkey: Option<String>,
    /// Use TLSv1.2 or greater
    #[arg(long = "tlsv1.2")]
    pub tlsv1_2: bool,
    /// Use TLSv1.3 or greater
    #[arg(long = "tlsv1.3")]
    pub tlsv1_3: bool,
    /// Accept an expired certificate (envoi)
    #[arg(long = "ignore-expired-certificate")]
    pub ignore_expired_certificate: bool,
    /// Accept a certificate for another host name (envoi)
    #[arg(long = "ignore-certificate-name")]
    pub ignore_certificate_name: bool,
    /// Accept a certificate from an unknown issuer (envoi)
    #[arg(long = "ignore-invalid-certificate")]
    pub ignore_invalid_certificate: bool,
    /// Skip the check against the CRLs (envoi)
    #[arg(long = "ignore-revocation")]
    pub ignore_revocation: bool,

    // ---- proxy ----
    /// Use this proxy
    #[arg(short = 'x', long = "proxy", value_name = "[protocol://]host[:port]")]
    pub proxy: Option<String>,
    /// Proxy user and password
    #[arg(short = 'U', long = "proxy-user", value_name = "user:password")]
    pub proxy_user: Option<String>,
    /// List of hosts which do not use proxy
    #[arg(long = "noproxy", value_name = "no-proxy-list")]
    pub noproxy: Option<String>,
    /// SOCKS5 proxy on given host + port
    #[arg(
        long = "socks5",
        value_name = "host[:port]",
        overrides_with = "socks5_hostname"
    )]
    pub socks5: Option<String>,
    /// SOCKS5 proxy, pass host name to proxy
    #[arg(
        long = "socks5-hostname",
        value_name = "host[:port]",
        overrides_with = "socks5"
    )]
    pub socks5_hostname: Option<String>,

    // ---- connections ----
    /// Resolve the host+port to this address
    #[arg(long = "resolve", value_name = "[+]host:port:addr[,addr]...")]
    pub resolve: Vec<String>,
    /// Connect to host
    #[arg(long = "connect-to", value_name = "HOST1:PORT1:HOST2:PORT2")]
    pub connect_to: Vec<String>,
    /// Resolve names to IPv4 addresses
    #[arg(short = '4', long = "ipv4")]
    pub ipv4: bool,
    /// Resolve names to IPv6 addresses
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Use HTTP 1.1
    #[arg(long = "http1.1")]
    pub http1_1: bool,
    /// Limit transfer speed to RATE
    #[arg(long = "limit-rate", value_name = "speed")]
    pub limit_rate: Option<String>,
    /// Maximum file size to download
    #[arg(long = "max-filesize", value_name = "bytes")]
    pub max_filesize: Option<String>,

    // ---- several transfers ----
    /// Perform transfers in parallel
    #[arg(short = 'Z', long = "parallel")]
    pub parallel: bool,
    /// Maximum concurrency for parallel transfers
    #[arg(long = "parallel-max", value_name = "num")]
    pub parallel_max: Option<u16>,
    /// Read config from a file
    #[arg(
        short = 'K',
        long = "config",
        value_name = "file",
        allow_hyphen_values = true
    )]
    pub config: Vec<String>,
    /// Make next URL use its separate set of options
    #[arg(short = ':', long = "next")]
    pub next: bool,

    // ---- envoi ----
    /// Run the bundled test server and print its URLs (envoi)
    #[arg(long = "serve")]
    pub serve: bool,
    /// Show version number and quit
    #[arg(short = 'V', long = "version")]
    pub version: bool,
    /// Get help for commands
    #[arg(short = 'h', long = "help")]
    pub help: bool,
}

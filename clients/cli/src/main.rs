//! `tillit`: the command-line client of Tillit's public gRPC API. It holds no privileges
//! of its own: every command is a call any other client could make with the same token.

mod commands;
mod failure;
mod output;
mod session;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

use crate::commands::Context;
use crate::failure::Failure;
use crate::session::{Overrides, Session};

/// Tillit from the command line: log in, look things up, report incidents, export the
/// audit trail, print the annual review.
#[derive(Parser)]
#[command(name = "tillit", version, max_term_width = 80)]
#[command(after_help = "Examples:\n  \
    tillit login --email olle@tillit.local\n  \
    tillit incidents list --status triaged\n  \
    tillit audit export --csv -o audit.csv\n\n\
    Exit codes: 0 ok, 1 other failure, 2 usage or invalid input, 3 not logged in or not \
    allowed, 4 not found, 5 a service is unavailable.")]
struct Cli {
    /// Profile of the config file (addresses and the cached login).
    #[arg(
        long,
        global = true,
        env = "TILLIT_PROFILE",
        default_value = "default",
        help_heading = "Global options"
    )]
    profile: String,
    /// Print JSON instead of tables.
    #[arg(long, global = true, help_heading = "Global options")]
    json: bool,
    /// Identity service URL.
    #[arg(
        long,
        global = true,
        env = "TILLIT_IDENTITY_URL",
        help_heading = "Global options"
    )]
    identity_url: Option<String>,
    /// Assets service URL.
    #[arg(
        long,
        global = true,
        env = "TILLIT_ASSETS_URL",
        help_heading = "Global options"
    )]
    assets_url: Option<String>,
    /// Incidents service URL.
    #[arg(
        long,
        global = true,
        env = "TILLIT_INCIDENTS_URL",
        help_heading = "Global options"
    )]
    incidents_url: Option<String>,
    /// Reporting service URL.
    #[arg(
        long,
        global = true,
        env = "TILLIT_REPORTING_URL",
        help_heading = "Global options"
    )]
    reporting_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Log in as a user (e-mail and password) or a service account (client credentials).
    #[command(after_help = "Examples:\n  tillit login --email olle@tillit.local\n  \
        echo \"$PASSWORD\" | tillit login --email olle@tillit.local --password-stdin\n  \
        echo \"$SECRET\" | tillit login --client-id 0192… --secret-stdin")]
    Login(commands::identity::Login),
    /// Forget the cached login of this profile.
    #[command(after_help = "Example:\n  tillit logout")]
    Logout,
    /// Who the cached login is.
    #[command(after_help = "Example:\n  tillit whoami --json")]
    Whoami,
    /// Tenants (admins and staff).
    #[command(after_help = "Example:\n  tillit tenants")]
    Tenants,
    /// Users, of one tenant or all.
    #[command(after_help = "Example:\n  tillit users --tenant acme")]
    Users(commands::identity::Users),
    /// The asset register.
    #[command(
        subcommand,
        after_help = "Example:\n  tillit assets list --tenant acme"
    )]
    Assets(commands::assets::Assets),
    /// Deviations and incidents.
    #[command(
        subcommand,
        after_help = "Example:\n  tillit incidents list --status triaged"
    )]
    Incidents(commands::incidents::Incidents),
    /// Your open reminders.
    #[command(after_help = "Example:\n  tillit tasks")]
    Tasks(commands::reporting::Tasks),
    /// The audit trail.
    #[command(
        subcommand,
        after_help = "Example:\n  tillit audit query --command tillit.incidents.v1.TriageIncident"
    )]
    Audit(commands::reporting::Audit),
    /// Verify the hash chain of a stream (or one aggregate in it).
    #[command(
        after_help = "Examples:\n  tillit verify INCIDENTS\n  tillit verify ASSETS --aggregate 0192…"
    )]
    Verify(commands::reporting::Verify),
    /// Audit trail, integrity, dashboard, tasks and the annual report.
    #[command(
        subcommand,
        after_help = "Example:\n  tillit report annual 2026 --format html -o review.html"
    )]
    Report(commands::reporting::Report),
    /// A data subject's rights: export (GDPR Art. 15), erase and approve (Art. 17).
    #[command(
        subcommand,
        after_help = "Example:\n  tillit data export -o my-data.json"
    )]
    Data(commands::data::Data),
    /// Demo data.
    #[command(subcommand, after_help = "Example:\n  tillit demo seed")]
    Demo(commands::demo::Demo),
    /// Shell completions.
    #[command(
        after_help = "Example:\n  tillit completions bash > ~/.local/share/bash-completion/completions/tillit"
    )]
    Completions {
        /// bash, zsh, fish, powershell or elvish.
        shell: clap_complete::Shell,
    },
}

async fn run(cli: Cli) -> Result<(), Failure> {
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(shell, &mut Cli::command(), "tillit", &mut std::io::stdout());
        return Ok(());
    }
    let session = Session::open(
        &cli.profile,
        &Overrides {
            identity: cli.identity_url,
            assets: cli.assets_url,
            incidents: cli.incidents_url,
            reporting: cli.reporting_url,
        },
    )?;
    let ctx = Context::new(session, cli.json);
    match cli.command {
        Command::Login(args) => commands::identity::login(&ctx, args).await,
        Command::Logout => commands::identity::logout(&ctx).await,
        Command::Whoami => commands::identity::whoami(&ctx).await,
        Command::Tenants => commands::identity::tenants(&ctx).await,
        Command::Users(args) => commands::identity::users(&ctx, args).await,
        Command::Assets(command) => commands::assets::run(&ctx, command).await,
        Command::Incidents(command) => commands::incidents::run(&ctx, command).await,
        Command::Tasks(args) => commands::reporting::tasks(&ctx, args).await,
        Command::Audit(command) => commands::reporting::audit(&ctx, command).await,
        Command::Verify(args) => commands::reporting::verify(&ctx, args).await,
        Command::Report(command) => commands::reporting::report(&ctx, command).await,
        Command::Data(command) => commands::data::run(&ctx, command).await,
        Command::Demo(command) => commands::demo::run(&ctx, command).await,
        Command::Completions { .. } => Ok(()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("tillit: {}", failure.message());
            failure.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent_and_every_help_fits_a_terminal_with_an_example() {
        Cli::command().debug_assert();
        let mut root = Cli::command();
        let mut helps = vec![root.render_long_help().to_string()];
        fn walk(command: &mut clap::Command, helps: &mut Vec<String>) {
            for sub in command.get_subcommands_mut() {
                if sub.get_name() == "help" {
                    continue;
                }
                helps.push(sub.render_long_help().to_string());
                walk(sub, helps);
            }
        }
        walk(&mut root, &mut helps);
        for help in &helps {
            let widest = help.lines().map(|l| l.chars().count()).max().unwrap_or(0);
            assert!(widest <= 80, "a help line of {widest} columns:\n{help}");
            assert!(help.contains("Example"), "no example in:\n{help}");
        }
    }
}

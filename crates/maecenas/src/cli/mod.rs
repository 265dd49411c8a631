//! The command line: `maecenas serve | migrate | admin | billing | backup | restore`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod admin;
pub mod backup;
pub mod billing;
pub mod campaigns;
mod failure;
pub mod output;

use admin::AdminCommand;
use billing::BillingCommand;
pub use failure::Failure;

use crate::config::{CommonArgs, Config, ServeArgs};
use crate::{App, logging, shutdown_signal};

#[derive(Debug, Parser)]
#[command(
    name = "maecenas",
    version,
    about = "A self-hostable creator-sponsorship platform"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (and, as they land, its background workers)
    Serve(ServeArgs),
    /// Apply database migrations and exit
    Migrate {
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
    /// Operator commands: users, OAuth clients, API keys, campaigns, pledges
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Billing: charge what is due, verify the ledger, pay creators out
    Billing {
        #[command(subcommand)]
        command: BillingCommand,
    },
    /// Write a consistent copy of the SQLite database to FILE, while it is in use
    /// (PostgreSQL: use pg_dump)
    Backup {
        /// Where the copy goes; written under a temporary name, then renamed
        file: std::path::PathBuf,
        /// Replace FILE if it exists
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Put a backup in place of the SQLite database, after checking it; refused
    /// while any process has the database open (PostgreSQL: use pg_restore)
    Restore {
        /// A file `maecenas backup` wrote
        file: std::path::PathBuf,
        /// Replace an existing database (never one in use)
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cli: Cli) -> ExitCode {
    let serve_args = match &cli.command {
        Command::Serve(args) => args.clone(),
        _ => ServeArgs::default(),
    };
    let result = async {
        let config = Config::resolve(&cli.common, &serve_args)?;
        logging::init(config.log_format, &config.log_level)?;
        match cli.command {
            Command::Serve(args) => serve(config, args.demo).await,
            Command::Migrate { json } => admin::migrate(&config, json).await,
            Command::Admin { command } => admin::run(&config, command).await,
            Command::Billing { command } => billing::run_billing(&config, command).await,
            Command::Backup { file, force, json } => {
                backup::backup(&config, &file, force, json).await
            }
            Command::Restore { file, force, json } => {
                backup::restore(&config, &file, force, json).await
            }
        }
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("maecenas: error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

async fn serve(config: Config, demo: bool) -> Result<(), Failure> {
    let app = App::build(config).await?;
    let address = app.local_addr();
    if demo {
        let access = app.services().seed_demo_with(true).await?;
        admin::print_demo_access(&access, address);
    }
    let shutdown = shutdown_signal();
    // Scripts and tests read this line to learn the port (with --listen ADDR:0).
    // Before the listening line, so that a reader waiting for that one has both.
    if let Some(metrics) = app.metrics_addr() {
        println!("maecenas metrics on http://{metrics}/metrics");
    }
    println!("maecenas listening on http://{address}");
    tracing::info!(%address, "listening");
    app.run(shutdown).await?;
    Ok(())
}

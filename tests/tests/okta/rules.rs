//! Configuration rules: each refusal is clear and writes nothing; the token never leaks.

use super::*;
use inlet_e2e::files_under;

/// Not configured, and no token stored for it.
fn untouched(cli: &Cli, tenant: &str) {
    let st = status(cli, tenant);
    assert_eq!(st["configured"], false, "{st:#}");
    assert!(st["orgId"].is_null(), "{st:#}");
}

#[test]
fn configuration_rules() {
    let d = double(fast(), 20, 2, 91);
    let other_org = double(Options { org_id: "00oSecondOrg0000002".into(), ..fast() }, 5, 1, 92);
    let no_apps = double(Options { tokens_without_apps: vec!["00ReadOnlyNoApps".into()], ..fast() }, 5, 1, 93);
    let cli = Cli::new();
    let outputs = std::cell::RefCell::new(Vec::new());
    let refused = |tenant: &str, url: &str, app: &str, token: &str, says: &str| {
        let r = configure(&cli, tenant, url, app, token);
        assert!(!r.ok, "configure {tenant} at {url} was accepted");
        assert!(r.stderr.contains(says), "configure {tenant}: {:?} does not say {says:?}", r.stderr);
        outputs.borrow_mut().push(r.stdout + &r.stderr);
    };

    // A scim-mode tenant.
    cli.json(&["tenants", "create", "plain"]);
    refused("plain", &d.url(), d.app_id(), TOKEN, "scim mode");
    untouched(&cli, "plain");

    // Okta refuses: bad token, unknown app, token without app permission.
    cli.json(&["tenants", "create", "beta", "--mode", "okta-api"]);
    refused("beta", &d.url(), d.app_id(), "00NotAValidToken", "E0000011");
    refused("beta", &d.url(), "0oaNoSuchApp0000001", TOKEN, "E0000007");
    refused("beta", &no_apps.url(), no_apps.app_id(), "00ReadOnlyNoApps", "E0000006");
    untouched(&cli, "beta");

    // acme takes the org; a second integration for acme, or the org for beta, is refused.
    cli.json(&["tenants", "create", "acme", "--mode", "okta-api"]);
    let r = configure(&cli, "acme", &d.url(), d.app_id(), TOKEN);
    assert!(r.ok, "{}", r.stderr);
    outputs.borrow_mut().push(r.stdout + &r.stderr);
    refused("acme", &other_org.url(), other_org.app_id(), TOKEN, "already has an Okta integration");
    assert_eq!(status(&cli, "acme")["orgId"], d.org_id());
    refused("beta", &d.url(), d.app_id(), TOKEN, "already provisions tenant acme");
    let localhost = d.url().replace("127.0.0.1", "localhost");
    refused("beta", &localhost, d.app_id(), TOKEN, "already provisions tenant acme");
    untouched(&cli, "beta");
    if cli.table.is_none() {
        // Refused configures stored no token: the vault holds acme's alone.
        let holding: Vec<_> = files_under(&cli.dir.join("okta-secrets"), &cli.scratch)
            .into_iter()
            .filter(|(_, b)| contains(b, TOKEN.as_bytes()))
            .map(|(p, _)| p)
            .collect();
        assert_eq!(holding.len(), 1, "{holding:?}");
    }

    // The token is in no output, no status, no file of the data directory but its vault.
    let st = cli.run(&["okta", "status", "acme", "--json"]);
    let sync = cli.run(&["okta", "sync-now", "acme", "--json"]);
    assert!(sync.ok, "{}", sync.stderr);
    let mut outputs = outputs.into_inner();
    outputs.extend([st.stdout + &st.stderr, sync.stdout + &sync.stderr]);
    for out in &outputs {
        assert!(!out.contains(TOKEN), "the token in CLI output: {out}");
    }
    let vault = cli.dir.join("okta-secrets");
    if cli.table.is_none() {
        let kept = files_under(&vault, &cli.scratch);
        assert!(kept.iter().any(|(_, b)| contains(b, TOKEN.as_bytes())), "the token is in its vault");
    }
    let files = files_under(&cli.dir, &vault);
    // On DynamoDB everything is in the table and Secrets Manager; the directory may be empty.
    assert!(cli.table.is_some() || !files.is_empty());
    for (path, bytes) in files {
        assert!(!contains(&bytes, TOKEN.as_bytes()), "the token in {}", path.display());
    }
    for x in [d, other_org, no_apps] {
        stop(x);
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Two tenants configure one org at once (two processes): exactly one wins. Embedded data
/// directories are opened by one process at a time, so only DynamoDB races for real.
#[test]
fn concurrent_configures_of_one_org() {
    if std::env::var_os("INLET_E2E_DYNAMODB").is_none() {
        eprintln!(
            "okta e2e: concurrent configures run on DynamoDB only (shared/tests/okta_admin.rs covers the embedded store)"
        );
        return;
    }
    let d = double(fast(), 5, 1, 94);
    let cli = Cli::new();
    let mut children = Vec::new();
    for t in ["one", "two"] {
        cli.json(&["tenants", "create", t, "--mode", "okta-api"]);
        let file = cli.token_file(&format!("{t}.token"), TOKEN);
        let mut cmd =
            cli.command(&["okta", "configure", t, "--domain", &d.url(), "--app-id", d.app_id(), "--token-file", &file]);
        children.push(cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap());
    }
    let results: Vec<bool> = children.into_iter().map(|c| c.wait_with_output().unwrap().status.success()).collect();
    assert_eq!(results.iter().filter(|ok| **ok).count(), 1, "{results:?}");
    let configured: Vec<bool> = ["one", "two"].iter().map(|t| status(&cli, t)["configured"] == true).collect();
    assert_eq!(configured, results);
    stop(d);
}

/// Two processes configure one tenant at once for two orgs, each with its own token (DynamoDB
/// and Secrets Manager: the vault is outside the table's transactions): at most one wins, and
/// the token kept is the winner's, so a sync of the tenant reaches Synced (the loser's token
/// would be refused by the winner's org).
#[test]
fn concurrent_configures_of_one_tenant_keep_the_winners_token() {
    if std::env::var_os("INLET_E2E_DYNAMODB").is_none() {
        eprintln!("okta e2e: one tenant's concurrent configures run on DynamoDB only (pull unit tests cover redb)");
        return;
    }
    let org = |id: &str, token: &str, seed: u64| {
        double(Options { org_id: id.into(), tokens: vec![token.into()], ..fast() }, 3, 1, seed)
    };
    let orgs = [
        (org("00oRaceOrgA00000001", "00RaceTokenA", 95), "00RaceTokenA"),
        (org("00oRaceOrgB00000002", "00RaceTokenB", 96), "00RaceTokenB"),
    ];
    let cli = Cli::new();
    cli.json(&["tenants", "create", "race", "--mode", "okta-api"]);
    let mut wins = 0;
    for round in 0..3 {
        let mut children = Vec::new();
        for (n, (d, token)) in orgs.iter().enumerate() {
            let file = cli.token_file(&format!("race-{n}.token"), token);
            let mut cmd = cli.command(&[
                "okta",
                "configure",
                "race",
                "--domain",
                &d.url(),
                "--app-id",
                d.app_id(),
                "--token-file",
                &file,
            ]);
            children.push(cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap());
        }
        let ok: Vec<bool> = children.into_iter().map(|c| c.wait_with_output().unwrap().status.success()).collect();
        assert!(ok.iter().filter(|x| **x).count() <= 1, "round {round}: {ok:?}");
        if status(&cli, "race")["configured"] == true {
            wins += 1;
            sync_now(&cli, "race");
            let r = cli.run(&["okta", "disable", "race"]);
            assert!(r.ok, "round {round}: {}", r.stderr);
        }
    }
    assert!(wins > 0, "no configure won in 3 rounds");
    for (d, _) in orgs {
        stop(d);
    }
}

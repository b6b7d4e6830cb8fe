//! Tenant administration and the request gate, over files in a temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::domain::DomainError;
use std::sync::Arc;
use std::time::Duration;

fn tenants() -> (tempfile::TempDir, Tenants) {
    let dir = tempfile::tempdir().unwrap();
    let t = Tenants::in_dir(dir.path()).unwrap();
    (dir, t)
}

fn id(s: &str) -> TenantId {
    TenantId::parse(s).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn tenants_are_created_once_and_updated_field_by_field() {
    let (_d, t) = tenants();
    let acme = t.create(&id("acme"), Some("Acme"), Settings::default()).await.unwrap();
    assert_eq!((acme.status, acme.settings.mode), (Status::Active, Mode::Scim));
    assert!(matches!(t.create(&id("acme"), None, Settings::default()).await, Err(DomainError::Conflict(_))));
    let change: TenantChange =
        serde_json::from_str(r#"{"settings": {"mode": "okta_api", "readAllUsers": true}}"#).unwrap();
    let updated = t.update(&id("acme"), change).await.unwrap();
    assert_eq!(updated.settings.mode, Mode::OktaApi);
    assert!(updated.settings.read_all_users && !updated.settings.send_enrollment_email);
    assert_eq!(updated.name, "Acme");
    assert!(serde_json::from_str::<TenantChange>(r#"{"settings": {"mode": "both"}}"#).is_err());
    assert!(serde_json::from_str::<TenantChange>(r#"{"setings": {}}"#).is_err(), "typos are refused");
    assert!(t.create(&id("x"), Some("  "), Settings::default()).await.is_err());
    assert!(matches!(t.show(&id("nope")).await, Err(DomainError::NotFound(_))));
    let listed: Vec<String> = t.list().await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(listed, ["acme"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn at_most_two_live_tokens_and_rotation_overlaps() {
    let (_d, t) = tenants();
    let a = id("a");
    t.create(&a, None, Settings::default()).await.unwrap();
    assert!(matches!(t.issue(&id("ghost"), None, None).await, Err(DomainError::NotFound(_))));
    let first = t.issue(&a, Some("okta"), None).await.unwrap();
    assert!(token::well_formed(&first.token));
    let second = t.issue(&a, None, None).await.unwrap();
    assert!(matches!(t.issue(&a, None, None).await, Err(DomainError::TooMany(_))));
    assert!(matches!(
        t.rotate(&a, &first.info.id, Duration::from_secs(60), None, None).await,
        Err(DomainError::TooMany(_))
    ));
    t.revoke(&a, &second.info.id).await.unwrap();
    assert!(matches!(t.revoke(&a, &second.info.id).await, Err(DomainError::NotFound(_))));

    let rotated = t.rotate(&a, &first.info.id, Duration::from_secs(3600), Some("new"), None).await.unwrap();
    let list = t.tokens(&a).await.unwrap();
    assert_eq!(list.len(), 2);
    let old = list.iter().find(|i| i.id == first.info.id).unwrap();
    assert!(old.expires.is_some() && old.state == TokenState::Live, "the old token overlaps, then expires");
    assert!(list.iter().any(|i| i.id == rotated.info.id && i.expires.is_none()));
    let listed = serde_json::to_string(&list).unwrap();
    assert!(!listed.contains(&first.token) && !listed.contains("sha256"), "metadata only");
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_tokens_stop_counting_and_stop_working() {
    let (_d, t) = tenants();
    let a = id("a");
    t.create(&a, None, Settings::default()).await.unwrap();
    let short = t.issue(&a, None, Some(Duration::from_millis(300))).await.unwrap();
    let gate = Gate::new(t.clone(), Duration::from_secs(30));
    assert_eq!(gate.check(&a, &short.token).await.unwrap(), Access::Granted);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(gate.check(&a, &short.token).await.unwrap(), Access::Denied);
    assert_eq!(t.tokens(&a).await.unwrap()[0].state, TokenState::Expired);
    t.issue(&a, None, None).await.unwrap();
    t.issue(&a, None, None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gate_checks_tenant_token_status_and_mode() {
    let (_d, t) = tenants();
    let (a, b) = (id("a"), id("b"));
    t.create(&a, None, Settings::default()).await.unwrap();
    t.create(&b, None, Settings::default()).await.unwrap();
    let ta = t.issue(&a, None, None).await.unwrap().token;
    let tb = t.issue(&b, None, None).await.unwrap().token;
    let gate = Gate::new(t.clone(), Duration::from_millis(200));
    assert_eq!(gate.check(&a, &ta).await.unwrap(), Access::Granted);
    assert_eq!(gate.check(&a, &tb).await.unwrap(), Access::Denied, "a foreign token");
    assert_eq!(gate.check(&id("c"), &ta).await.unwrap(), Access::Denied, "an unknown tenant");
    assert_eq!(gate.check(&a, "inlet_garbage").await.unwrap(), Access::Denied);

    let change = |json: &str| serde_json::from_str::<TenantChange>(json).unwrap();
    t.update(&a, change(r#"{"settings": {"mode": "okta_api"}}"#)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(gate.check(&a, &ta).await.unwrap(), Access::ScimOff);
    assert_eq!(gate.check(&a, &tb).await.unwrap(), Access::Denied, "no mode hint without a valid token");
    t.update(&a, change(r#"{"status": "disabled", "settings": {"mode": "scim"}}"#)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(gate.check(&a, &ta).await.unwrap(), Access::Denied);

    // A token issued after the tenant was cached works without waiting for the cache.
    let gate = Gate::new(t.clone(), Duration::from_secs(30));
    assert_eq!(gate.check(&b, &tb).await.unwrap(), Access::Granted);
    let fresh = t.issue(&b, None, None).await.unwrap().token;
    tokio::time::sleep(gate::MIN_REFRESH).await;
    assert_eq!(gate.check(&b, &fresh).await.unwrap(), Access::Granted);

    let dev = Gate::new(t.clone(), Duration::from_secs(30)).with_dev_token(b.clone(), "dev");
    assert_eq!(dev.check(&b, "dev").await.unwrap(), Access::Granted);
    assert_eq!(dev.check(&a, "dev").await.unwrap(), Access::Denied, "the dev token is for its tenant only");

    // A change made in this process (`inlet serve` runs the admin API beside the gate) applies
    // at once, cache or not: settings, declared attributes, the dev token's tenant.
    let off = || change(r#"{"settings": {"provisioning": false}}"#);
    assert_eq!(gate.check(&b, &tb).await.unwrap(), Access::Granted);
    t.update(&b, off()).await.unwrap();
    assert_eq!(gate.check(&b, &tb).await.unwrap(), Access::ScimOff);
    assert_eq!(dev.check(&b, "dev").await.unwrap(), Access::ScimOff);
    t.update(&b, change(r#"{"settings": {"provisioning": true}}"#)).await.unwrap();
    let doc = serde_json::json!({"attributes": [{"schema": crate::scim::schema::USER_SCHEMA, "name": "alias", "type": "string"}]});
    t.apply_schema(&b, &doc).await.unwrap();
    let Admission::Granted { schemas, .. } = dev.admit(&b, "dev").await.unwrap() else { panic!("not admitted") };
    assert!(schemas.user.core_attr("alias").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_issues_lose_nothing() {
    let (_d, t) = tenants();
    let a = id("a");
    t.create(&a, None, Settings::default()).await.unwrap();
    let (x, y) = tokio::join!(t.issue(&a, Some("x"), None), t.issue(&a, Some("y"), None));
    let (x, y) = (x.unwrap(), y.unwrap());
    let gate = Gate::new(t.clone(), Duration::from_secs(30));
    assert_eq!(gate.check(&a, &x.token).await.unwrap(), Access::Granted);
    assert_eq!(gate.check(&a, &y.token).await.unwrap(), Access::Granted);
}

/// Documents that count their reads (`.1`) and listings (`.2`).
struct Counted(crate::store::files::FileDocs, AtomicUsize, AtomicUsize);

use std::sync::atomic::AtomicUsize;

fn counted(dir: &std::path::Path, private: bool) -> std::sync::Arc<Counted> {
    let docs = crate::store::files::FileDocs::open(dir, private).unwrap();
    std::sync::Arc::new(Counted(docs, AtomicUsize::new(0), AtomicUsize::new(0)))
}

#[async_trait::async_trait]
impl crate::store::docs::Documents for Counted {
    async fn get(&self, name: &str) -> Result<Option<crate::store::docs::Doc>, crate::store::StoreError> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.get(name).await
    }
    async fn put(
        &self,
        name: &str,
        body: &[u8],
        expect: crate::store::docs::Expect,
    ) -> Result<(), crate::store::StoreError> {
        self.0.put(name, body, expect).await
    }
}

#[async_trait::async_trait]
impl crate::store::docs::Catalog for Counted {
    async fn list(&self) -> Result<Vec<crate::store::docs::Doc>, crate::store::StoreError> {
        self.2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.list().await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn made_up_and_disabled_tenants_never_reach_the_vault() {
    use crate::store::files::FileDocs;
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let vault = counted(&dir.path().join("secrets"), true);
    let t = Tenants::new(
        Arc::new(FileDocs::open(&dir.path().join("tenants"), false).unwrap()),
        vault.clone(),
        Arc::new(FileDocs::open(&dir.path().join("token-use"), false).unwrap()),
    );
    let a = id("a");
    t.create(&a, None, Settings::default()).await.unwrap();
    let token = t.issue(&a, None, None).await.unwrap().token;
    let gate = Gate::new(t.clone(), Duration::from_secs(30));
    let before = vault.1.load(Ordering::SeqCst);
    for n in 0..20 {
        assert_eq!(gate.check(&id(&format!("made-up-{n}")), &token).await.unwrap(), Access::Denied);
    }
    assert_eq!(vault.1.load(Ordering::SeqCst), before, "unknown tenants cost no vault read");
    assert_eq!(gate.check(&a, &token).await.unwrap(), Access::Granted);
    assert_eq!(vault.1.load(Ordering::SeqCst), before + 1);
    for _ in 0..20 {
        assert_eq!(gate.check(&a, &token).await.unwrap(), Access::Granted);
    }
    assert_eq!(vault.1.load(Ordering::SeqCst), before + 1, "cached for the ttl");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_unknown_tenants_evicts_nothing_and_reads_little() {
    use crate::store::files::FileDocs;
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let (registry, vault) = (counted(&dir.path().join("tenants"), false), counted(&dir.path().join("secrets"), true));
    let t =
        Tenants::new(registry.clone(), vault.clone(), Arc::new(FileDocs::open(&dir.path().join("u"), false).unwrap()));
    let a = id("a");
    t.create(&a, None, Settings::default()).await.unwrap();
    let token = t.issue(&a, None, None).await.unwrap().token;
    let gate = Gate::new(t.clone(), Duration::from_secs(60));
    assert_eq!(gate.check(&a, &token).await.unwrap(), Access::Granted);
    let (vault_before, reads_before) = (vault.1.load(Ordering::SeqCst), registry.1.load(Ordering::SeqCst));
    let started = std::time::Instant::now();
    for n in 0..20_000 {
        assert_eq!(gate.check(&id(&format!("made-up-{n}")), &token).await.unwrap(), Access::Denied);
    }
    let secs = started.elapsed().as_secs_f64();
    // The real tenant's entry survived: granted again without any read.
    assert_eq!(gate.check(&a, &token).await.unwrap(), Access::Granted);
    assert_eq!(vault.1.load(Ordering::SeqCst), vault_before, "no vault read for unknown tenants, no re-read of a");
    let reads = registry.1.load(Ordering::SeqCst) - reads_before;
    assert!(reads as f64 <= 100.0 + 20.0 * secs + 1.0, "{reads} registry reads in {secs:.1} s");
    let listings = registry.2.load(Ordering::SeqCst);
    assert!(listings >= 1 && listings as f64 <= 1.0 + secs / 5.0, "{listings} listings in {secs:.1} s");

    // A tenant created during the flood is recognised once the registry is listed again.
    let b = id("b");
    t.create(&b, None, Settings::default()).await.unwrap();
    let tb = t.issue(&b, None, None).await.unwrap().token;
    tokio::time::sleep(gate::MIN_REFRESH).await;
    assert_eq!(gate.check(&b, &tb).await.unwrap(), Access::Granted);
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_tokens_are_pruned_so_the_vault_stays_small() {
    let (d, t) = tenants();
    let a = id("a");
    t.create(&a, None, Settings::default()).await.unwrap();
    let live = t.issue(&a, Some("live"), None).await.unwrap();
    for _ in 0..40 {
        t.issue(&a, Some(&"x".repeat(100)), Some(Duration::from_millis(1))).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let list = t.tokens(&a).await.unwrap();
    let expired = list.iter().filter(|i| i.state == TokenState::Expired).count();
    assert!(expired <= admin::MAX_EXPIRED_KEPT + 1, "{expired} expired records kept");
    assert!(list.iter().any(|i| i.id == live.info.id), "the live token is kept");
    let size = std::fs::metadata(d.path().join("secrets/a.json")).unwrap().len();
    assert!(size < 8 * 1024, "vault of {size} bytes");

    // Past the grace, every expired record goes; live ones stay.
    let mut vault: record::Vault =
        serde_json::from_slice(&std::fs::read(d.path().join("secrets/a.json")).unwrap()).unwrap();
    assert!(vault.tokens.len() > 1);
    let later = time::OffsetDateTime::now_utc() + admin::EXPIRED_GRACE + time::Duration::MINUTE;
    admin::prune(&mut vault, later);
    let ids: Vec<&str> = vault.tokens.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [live.info.id.as_str()]);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn the_data_directory_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (d, t) = tenants();
    let a = id("a");
    t.create(&a, None, Settings::default()).await.unwrap();
    let token = t.issue(&a, None, None).await.unwrap().token;
    assert_eq!(Gate::new(t.clone(), Duration::from_secs(30)).check(&a, &token).await.unwrap(), Access::Granted);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(d.path()), 0o700);
    let mut files = 0;
    for sub in ["tenants", "secrets", "token-use"] {
        for f in std::fs::read_dir(d.path().join(sub)).unwrap() {
            let path = f.unwrap().path();
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            files += 1;
        }
    }
    assert!(files >= 4, "tenant, vault, token use and lock files: {files}");
}

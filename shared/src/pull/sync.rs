//! One sync of one tenant, and the scheduled pass over the due tenants.
//!
//! A run takes the tenant's lease, reads Okta into a snapshot (app users with their Okta
//! profiles, app groups, the members of groups whose `lastMembershipUpdated` moved), and only
//! when the snapshot is complete applies it ([`super::apply`]): a run that stops early has
//! changed nothing, so no user is deactivated because a listing was cut short. A run that
//! must stop (the invocation's deadline, Okta unavailable) saves its snapshot and cursor; the
//! next run resumes from there. A refused credential (401/403/404) stops the tenant's sync
//! with the error recorded and its data untouched.

use super::checkpoint::{self, Snapshot};
use super::state::{self, CheckpointRef, Counts, Lease, Progress, RunError, SyncState, at_offset};
use super::{Integration, Integrations, PullError, PullResult, apply, read, stage};
use crate::domain::activity::Entry;
use crate::domain::records::{Stored, now};
use crate::domain::tenant::{Mode, Status, Tenants};
use crate::domain::{Actor, Caller, Directory, TenantId};
use crate::okta::{self, ApiToken, OktaClient, OktaError, OrgUrl};
use futures::StreamExt;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// After a failure Okta may recover from (5xx, rate limit, timeouts), the next try is this soon.
const RETRY_AFTER_SECONDS: i64 = 120;
/// How often a running read reports its progress (the lease is renewed less often).
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// A checkpoint older than this is dropped and the read starts again (cursors go stale).
const MAX_RESUME_AGE: time::Duration = time::Duration::hours(1);

/// What the puller needs (built by `startup`).
#[derive(Clone)]
pub struct Puller {
    pub integrations: Integrations,
    pub tenants: Tenants,
    pub directory: Directory,
    pub limits: okta::Limits,
    /// How long a lease holds without renewal: the longest a crashed run blocks its tenant.
    pub lease: Duration,
    /// Time kept back from the deadline to apply the snapshot and save state.
    pub reserve: Duration,
}

pub type OnProgress = Arc<dyn Fn(&Progress) + Send + Sync>;

#[derive(Clone, Default)]
pub struct RunOptions {
    pub deadline: Option<Instant>,
    pub on_progress: Option<OnProgress>,
    /// Sync only if the state (read strongly) says the tenant is due: the due list is an
    /// index, eventually consistent, and may still show a tenant just synced.
    pub only_if_due: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Synced(Counts),
    /// Stopped for the deadline with its read saved; the next run resumes it.
    Paused,
    /// Recorded as the tenant's last error.
    Failed(RunError),
    /// Another run holds the tenant's lease.
    Busy,
    /// Not due after all (`only_if_due`).
    NotDue,
    NotConfigured,
}

/// Why a read stopped.
enum Stop {
    Okta(OktaError),
    /// The state changed under the run (lease lost, integration changed).
    Lost,
    Store(PullError),
}

impl From<OktaError> for Stop {
    fn from(e: OktaError) -> Self {
        Self::Okta(e)
    }
}

impl From<PullError> for Stop {
    fn from(e: PullError) -> Self {
        Self::Store(e)
    }
}

fn run_error(code: Option<&str>, message: String) -> RunError {
    RunError { code: code.map(str::to_owned), message, at: now() }
}

/// One run's hold on the tenant's state.
struct Held<'a> {
    p: &'a Puller,
    t: &'a TenantId,
    owner: String,
    state: SyncState,
    version: u64,
    renewed: Instant,
    on_progress: Option<OnProgress>,
}

impl Held<'_> {
    async fn write(&mut self) -> Result<(), Stop> {
        let table = self.p.integrations.table().as_ref();
        match state::swap(table, self.t, &self.state, self.version).await? {
            Some(v) => {
                self.version = v;
                Ok(())
            }
            None => Err(Stop::Lost),
        }
    }

    fn lease(&self) -> Lease {
        Lease { owner: self.owner.clone(), until: at_offset(i64::try_from(self.p.lease.as_secs()).unwrap_or(600)) }
    }

    /// Reports progress; renews the lease (and publishes the progress) once a third of it has gone.
    async fn progress(&mut self, f: impl FnOnce(&mut Progress)) -> Result<(), Stop> {
        if let Some(p) = self.state.progress.as_mut() {
            f(p);
            if let Some(cb) = &self.on_progress {
                cb(p);
            }
        }
        if self.renewed.elapsed() >= self.p.lease / 3 {
            self.state.lease = Some(self.lease());
            self.write().await?;
            self.renewed = Instant::now();
        }
        Ok(())
    }
}

impl Puller {
    /// Syncs one tenant until it is synced, paused for the deadline, or failed.
    pub async fn sync(&self, t: &TenantId, o: &RunOptions) -> PullResult<Outcome> {
        let table = self.integrations.table().as_ref();
        let Some(integration) = self.integrations.get(t).await? else { return Ok(Outcome::NotConfigured) };
        // Configure writes the state with the integration, in one transaction.
        let (state, version) = state::read(table, t).await?.ok_or_else(|| {
            PullError::Domain(
                crate::store::StoreError::Backend(format!("tenant {t} has an integration but no sync state")).into(),
            )
        })?;
        let owner = crate::domain::records::new_id();
        if state.leased_by_other(&owner, OffsetDateTime::now_utc()) {
            return Ok(Outcome::Busy);
        }
        let due = state.next_due.as_deref().and_then(crate::scim::filter::parse_time);
        if o.only_if_due && due.is_none_or(|d| d > OffsetDateTime::now_utc()) {
            return Ok(Outcome::NotDue);
        }
        let mut held =
            Held { p: self, t, owner, state, version, renewed: Instant::now(), on_progress: o.on_progress.clone() };
        let mut snap = match self.resume(&mut held).await {
            Ok(s) => s,
            Err(Stop::Lost) => return Ok(Outcome::Busy),
            Err(Stop::Store(e)) => return Err(e),
            Err(Stop::Okta(e)) => return Err(PullError::Okta(e.to_string())),
        };
        if let Some(refusal) = self.refusal(t).await? {
            return self.fail(&mut held, refusal, None).await;
        }
        let client = match self.client(t, &integration, o.deadline).await {
            Ok(c) => c,
            Err(e) => return self.fail(&mut held, run_error(e.code(), e.to_string()), None).await,
        };
        // The run's view of the directory is taken once, as the first page of users arrives:
        // new users are prepared against it while the read goes on, and the apply compares with it.
        let caller = match self.caller(t).await {
            Ok(c) => c,
            Err(e) => {
                return self.fail(&mut held, run_error(None, format!("reading the tenant failed: {e}")), None).await;
            }
        };
        let (pages, arriving) = tokio::sync::mpsc::unbounded_channel();
        let stager = tokio::spawn(stage::run(self.directory.clone(), caller.clone(), arriving));
        let read = self.read_holding(&mut held, &client, &integration, &mut snap, pages).await;
        if read.is_err() {
            stager.abort();
        }
        match read {
            Ok(()) => {}
            Err(Stop::Lost) => return Ok(Outcome::Busy),
            Err(Stop::Store(e)) => return Err(e),
            Err(Stop::Okta(OktaError::Deadline)) => return self.pause(&mut held, &snap).await,
            Err(Stop::Okta(e)) if e.is_credential() => {
                return self.fail(&mut held, run_error(e.code(), e.to_string()), None).await;
            }
            Err(Stop::Okta(e)) => return self.fail(&mut held, run_error(e.code(), e.to_string()), Some(&snap)).await,
        }
        let (existing, prepared) = match stager.await {
            Ok(Ok(staged)) => staged,
            Ok(Err(e)) => {
                return self.fail(&mut held, run_error(None, format!("reading the directory failed: {e}")), None).await;
            }
            Err(e) => {
                return self.fail(&mut held, run_error(None, format!("preparing new users failed: {e}")), None).await;
            }
        };
        held.progress(|p| p.phase = "apply".into()).await.ok();
        match self.apply_holding(&mut held, &caller, &snap, &existing, prepared).await {
            Ok(counts) => self.finish(&mut held, counts).await,
            Err(Stop::Lost) => Ok(Outcome::Busy),
            Err(Stop::Store(e)) => {
                let failure = run_error(None, format!("applying the sync failed: {e}"));
                self.fail(&mut held, failure, None).await
            }
            Err(Stop::Okta(e)) => self.fail(&mut held, run_error(e.code(), e.to_string()), None).await,
        }
    }

    /// Why this tenant may not be pulled now, if it may not.
    async fn refusal(&self, t: &TenantId) -> PullResult<Option<RunError>> {
        let tenant = self.tenants.show(t).await?;
        Ok(match (tenant.settings.mode, tenant.status) {
            (Mode::Scim, _) => Some(run_error(None, format!("tenant {t} is in scim mode: the Okta API pull is off"))),
            (_, Status::Disabled) => Some(run_error(None, format!("tenant {t} is disabled"))),
            _ if !tenant.settings.provisioning => {
                Some(run_error(None, format!("tenant {t} has provisioning turned off: the Okta API pull is paused")))
            }
            _ => None,
        })
    }

    async fn client(&self, t: &TenantId, i: &Integration, deadline: Option<Instant>) -> Result<OktaClient, OktaError> {
        let token = self
            .integrations
            .token(t)
            .await
            .map_err(|e| OktaError::Transport(format!("reading the API token failed: {e}")))?
            .ok_or_else(|| OktaError::BadUrl("no API token is stored for this integration".into()))?;
        let client = OktaClient::new(OrgUrl::parse(&i.domain)?, ApiToken::new(token)?, self.limits.clone())?;
        Ok(client.with_deadline(deadline.map(|d| d.checked_sub(self.reserve).unwrap_or(d))))
    }

    /// Takes the lease and loads the checkpoint of an interrupted run, if a fresh one exists.
    async fn resume(&self, held: &mut Held<'_>) -> Result<Snapshot, Stop> {
        let table = self.integrations.table().as_ref();
        let started = held.state.last_run_started.as_deref().and_then(crate::scim::filter::parse_time);
        let fresh = started.is_some_and(|s| OffsetDateTime::now_utc() - s < MAX_RESUME_AGE);
        let snap = match held.state.checkpoint.clone() {
            Some(c) if fresh => checkpoint::load(table, held.t, &c.run, c.chunks).await?,
            _ => {
                held.state.checkpoint = None;
                held.state.last_run_started = Some(now());
                let run = crate::domain::records::new_id();
                held.state.progress = Some(Progress { run, phase: "users".into(), ..Progress::default() });
                Snapshot::default()
            }
        };
        held.state.lease = Some(held.lease());
        held.write().await?;
        Ok(snap)
    }

    /// Reads Okta into the snapshot while reporting progress and renewing the lease.
    async fn read_holding(
        &self,
        held: &mut Held<'_>,
        client: &OktaClient,
        i: &Integration,
        snap: &mut Snapshot,
        pages: read::Pages,
    ) -> Result<(), Stop> {
        let table = self.integrations.table().as_ref();
        let seen = read::Seen::of(snap);
        let t = held.t;
        // What a resumed run read before is prepared first.
        let _ = pages.send(snap.users.clone());
        let work = read::read(client, table, t, &i.app_id, snap, &seen, pages);
        tokio::pin!(work);
        let report = || {
            let (pages, users, groups) = (
                seen.pages.load(Ordering::Relaxed),
                seen.users.load(Ordering::Relaxed),
                seen.groups.load(Ordering::Relaxed),
            );
            move |p: &mut Progress| {
                p.phase = "read".into();
                p.pages = pages;
                p.users_seen = users;
                p.groups_seen = groups;
            }
        };
        loop {
            tokio::select! {
                done = &mut work => {
                    held.progress(report()).await?;
                    return done.map_err(|e| match e {
                        read::ReadError::Okta(e) => Stop::Okta(e),
                        read::ReadError::Store(e) => Stop::Store(e),
                    });
                }
                () = tokio::time::sleep(PROGRESS_EVERY) => {
                    held.progress(report()).await?;
                }
            }
        }
    }

    /// The puller as a caller of the tenant's directory, with the tenant's settings and
    /// schemas as the run starts.
    async fn caller(&self, t: &TenantId) -> PullResult<Caller> {
        let tenant = self.tenants.show(t).await?;
        let schemas = crate::domain::tenant::schemas_of(&tenant)?;
        Ok(Caller::new(t.clone(), Actor::OktaApi, tenant.settings, schemas))
    }

    /// Applies the snapshot while renewing the lease.
    async fn apply_holding(
        &self,
        held: &mut Held<'_>,
        caller: &Caller,
        snap: &Snapshot,
        existing: &HashMap<String, Stored>,
        prepared: stage::Stage,
    ) -> Result<Counts, Stop> {
        let table = self.integrations.table().as_ref();
        // Deferred: the run's own state write that follows makes the apply durable, and a run
        // that stopped before it reads again (or resumes its checkpoint) and applies again.
        let dir = self.directory.deferred();
        let work = apply::apply(&dir, table, caller, snap, existing, prepared);
        tokio::pin!(work);
        loop {
            tokio::select! {
                done = &mut work => return done.map_err(Stop::Store),
                () = tokio::time::sleep(self.lease / 3) => held.progress(|_| {}).await?,
            }
        }
    }

    async fn finish(&self, held: &mut Held<'_>, counts: Counts) -> PullResult<Outcome> {
        let s = &mut held.state;
        let at = now();
        s.last_success = Some(at.clone());
        s.last_run_ended = Some(at);
        s.last_error = None;
        s.counts = counts;
        s.progress = None;
        let had_checkpoint = s.checkpoint.take().is_some();
        s.lease = None;
        s.next_due = Some(at_offset(i64::try_from(s.interval_seconds.max(super::MIN_INTERVAL_SECONDS)).unwrap_or(900)));
        self.settle(held).await?;
        if had_checkpoint {
            checkpoint::clear(self.integrations.table().as_ref(), held.t).await?;
        }
        self.log(held.t, json!({"outcome": "synced", "counts": counts})).await?;
        Ok(Outcome::Synced(counts))
    }

    /// Records a failure; with `keep`, the read so far is saved for the next run to resume.
    async fn fail(&self, held: &mut Held<'_>, e: RunError, keep: Option<&Snapshot>) -> PullResult<Outcome> {
        let table = self.integrations.table().as_ref();
        tracing::warn!(tenant = %held.t, code = e.code.as_deref().unwrap_or(""), error = %e.message, "Okta sync failed");
        let s = &mut held.state;
        s.last_error = Some(e.clone());
        s.last_run_ended = Some(now());
        s.lease = None;
        let retry = if keep.is_some() { RETRY_AFTER_SECONDS } else { i64::try_from(s.interval_seconds).unwrap_or(900) };
        s.next_due = Some(at_offset(retry.max(60)));
        match keep {
            Some(snap) => self.save(held, snap).await?,
            None => {
                held.state.progress = None;
                held.state.checkpoint = None;
            }
        }
        self.settle(held).await?;
        if keep.is_none() {
            checkpoint::clear(table, held.t).await?;
        }
        self.log(held.t, json!({"outcome": "failed", "code": e.code, "message": e.message})).await?;
        Ok(Outcome::Failed(e))
    }

    /// A sync run's entry in the tenant's activity log (the users and groups it changed have
    /// their own entries, written with each change).
    async fn log(&self, t: &TenantId, detail: serde_json::Value) -> PullResult<()> {
        let e = Entry::other("okta.sync", "OktaSync", "okta", detail);
        Ok(self.directory.record(t, &Actor::OktaApi, &[e]).await?)
    }

    /// Saves the read for the next invocation, which may start at once.
    async fn pause(&self, held: &mut Held<'_>, snap: &Snapshot) -> PullResult<Outcome> {
        self.save(held, snap).await?;
        held.state.lease = None;
        held.state.next_due = Some(at_offset(0));
        self.settle(held).await?;
        Ok(Outcome::Paused)
    }

    async fn save(&self, held: &mut Held<'_>, snap: &Snapshot) -> PullResult<()> {
        let table = self.integrations.table().as_ref();
        let run = held.state.progress.as_ref().map_or_else(crate::domain::records::new_id, |p| p.run.clone());
        let chunks = checkpoint::save(table, held.t, &run, snap).await?;
        held.state.checkpoint = Some(CheckpointRef { run, chunks });
        Ok(())
    }

    async fn settle(&self, held: &mut Held<'_>) -> PullResult<()> {
        match held.write().await {
            Ok(()) | Err(Stop::Lost) => Ok(()),
            Err(Stop::Store(e)) => Err(e),
            Err(Stop::Okta(e)) => Err(PullError::Okta(e.to_string())),
        }
    }

    fn sync_owned(
        &self,
        t: TenantId,
        o: RunOptions,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = (TenantId, PullResult<Outcome>)> + Send + '_>> {
        Box::pin(async move {
            let r = self.sync(&t, &o).await;
            (t, r)
        })
    }

    /// One scheduled pass: syncs the due tenants, `parallel` at a time, until none is due or
    /// the deadline nears. Each tenant is tried once per pass.
    pub async fn run_due(&self, deadline: Option<Instant>, parallel: usize) -> PullResult<Vec<(TenantId, Outcome)>> {
        let table = Arc::clone(self.integrations.table());
        let mut done: Vec<(TenantId, Outcome)> = Vec::new();
        loop {
            if deadline.is_some_and(|d| d.saturating_duration_since(Instant::now()) < self.reserve * 2) {
                return Ok(done);
            }
            let due = state::due(table.as_ref(), OffsetDateTime::now_utc(), 100).await?;
            let fresh: Vec<TenantId> = due.into_iter().filter(|t| done.iter().all(|(d, _)| d != t)).collect();
            if fresh.is_empty() {
                return Ok(done);
            }
            let o = RunOptions { deadline, on_progress: None, only_if_due: true };
            let results: Vec<(TenantId, PullResult<Outcome>)> = futures::stream::iter(fresh)
                .map(|t| self.sync_owned(t, o.clone()))
                .buffer_unordered(parallel.max(1))
                .collect()
                .await;
            for (t, r) in results {
                let outcome = r.unwrap_or_else(|e| Outcome::Failed(run_error(None, e.to_string())));
                done.push((t, outcome));
            }
        }
    }
}

//! The pull's invariants (shared/DESIGN.md, "Invariants of the pull"), checked by walking the
//! items of the tenants given through the `Table` contract.

use super::state;
use super::{Integration, Integrations};
use crate::domain::TenantId;
use crate::store::{Index, Query, keys};

/// Every broken invariant found, in words.
pub async fn check(integrations: &Integrations, tenants: &[TenantId]) -> Vec<String> {
    let table = integrations.table().as_ref();
    let mut out = Vec::new();
    let mut due = Vec::new();
    let mut q = Query::new(Index::Gsi1, keys::OKTA_DUE, "", 100);
    loop {
        match table.query(&q).await {
            Ok(page) => {
                due.extend(
                    page.items
                        .iter()
                        .filter_map(|i| i.gsi1.as_ref())
                        .filter_map(|g| keys::okta_due_tenant(&g.sk).map(str::to_owned)),
                );
                match page.next {
                    Some(c) => q.after = Some(c),
                    None => break,
                }
            }
            Err(e) => return vec![format!("due list unreadable: {e}")],
        }
    }
    for t in tenants {
        let integration: Option<Integration> = match integrations.get(t).await {
            Ok(i) => i,
            Err(e) => {
                out.push(format!("{t}: integration unreadable: {e}"));
                continue;
            }
        };
        let listed = due.iter().filter(|d| d.as_str() == t.as_str()).count();
        match &integration {
            Some(i) => {
                match table.get(&keys::okta_org_claim(&i.org_id)).await {
                    Ok(Some(claim)) if claim.body == t.as_str().as_bytes() => {}
                    Ok(Some(claim)) => out.push(format!(
                        "{t}: org {} is claimed by {}",
                        i.org_id,
                        String::from_utf8_lossy(&claim.body)
                    )),
                    Ok(None) => out.push(format!("{t}: org {} has no claim", i.org_id)),
                    Err(e) => out.push(format!("{t}: claim unreadable: {e}")),
                }
                if listed != 1 {
                    out.push(format!("{t}: configured but listed {listed} times in the due list"));
                }
            }
            None if listed > 0 => out.push(format!("{t}: not configured but in the due list")),
            None => {}
        }
        // The vault's token belongs to the integration recorded (`hold`): none outlives it.
        match (&integration, integrations.token(t).await) {
            (Some(_), Ok(None)) => out.push(format!("{t}: configured without a token")),
            (None, Ok(Some(_))) => out.push(format!("{t}: an Okta token kept without an integration")),
            (_, Err(e)) => out.push(format!("{t}: token unreadable: {e}")),
            _ => {}
        }
        if !matches!(table.get(&keys::okta_hold(t.as_str())).await, Ok(None)) {
            out.push(format!("{t}: the integration's hold was not released"));
        }
        if let Ok(Some((s, _))) = state::read(table, t).await
            && let Some(c) = &s.checkpoint
        {
            for n in 0..c.chunks {
                if !matches!(table.get(&keys::okta_run_chunk(t.as_str(), &c.run, n)).await, Ok(Some(_))) {
                    out.push(format!("{t}: checkpoint {} lacks chunk {n}", c.run));
                }
            }
        }
    }
    out
}

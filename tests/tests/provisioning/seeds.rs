//! One scenario per vendor guide.

use super::*;
use serde_json::json;

/// Akamai MFA (seed 001): manual users are invisible to Okta's lookup unless readAllUsers;
/// with includeManuallyProvisionedUsers the create that follows the empty lookup claims the
/// manual user (same id, memberships kept); enrollment is requested for new users with an email.
#[test]
fn akamai_claims_manual_users_and_requests_enrollment() {
    let tmp = tempfile::tempdir().unwrap();
    let s = server(tmp.path());
    let t = Tenant::new(&s, "akamai");
    let bob = t.manual("users", &user("Bob@Acme.com", Some("bob@acme.com")));
    assert_eq!(bob[SOURCE]["kind"], "manual");
    let bob_id = bob["id"].as_str().unwrap().to_owned();
    let team = t.manual("groups", &json!({"displayName": "Field team"}));
    let team_id = team["id"].as_str().unwrap().to_owned();
    assert!(s.cli(&["groups", "add-members", "akamai", &team_id, &bob_id]).0);

    // Off/off: Okta's lookup finds nothing, and its create conflicts with the manual user.
    let lookup = t.scim("GET", "/Users?filter=userName%20eq%20%22bob%40acme.com%22", None);
    assert_eq!(lookup.body["totalResults"], 0);
    assert_eq!(t.scim("GET", &format!("/Users/{bob_id}"), None).status, 404);
    let refused = t.scim("POST", "/Users", Some(&user("bob@acme.com", Some("bob@acme.com"))));
    assert_eq!((refused.status, refused.body["scimType"].as_str()), (409, Some("uniqueness")));

    // Claiming on: the same sequence takes Bob over, keeping his id and his manual team.
    t.settings(&["--include-manually-provisioned-users", "true", "--send-enrollment-email", "true"]);
    let lookup = t.scim("GET", "/Users?filter=userName%20eq%20%22bob%40acme.com%22", None);
    assert_eq!(lookup.body["totalResults"], 0, "readAllUsers off still hides manual users");
    let claimed = t.scim("POST", "/Users", Some(&user("bob@acme.com", Some("bob@acme.com"))));
    assert_eq!(claimed.status, 201, "{}", claimed.raw);
    assert_eq!(claimed.body["id"], bob_id.as_str());
    assert_eq!(claimed.body[SOURCE]["kind"], "scim");
    assert!(claimed.body[SOURCE]["tokenId"].is_string());
    assert_eq!(claimed.body["userName"], "bob@acme.com");
    let groups = s.cli_json(&["groups", "list", "akamai"]);
    assert_eq!(groups[0]["members"][0]["value"], bob_id.as_str(), "the claimed user stays in the manual team");

    // New users: enrollment only with an email; never for the claimed one.
    let carol = t.scim("POST", "/Users", Some(&user("carol@acme.com", Some("carol@acme.com"))));
    let dave = t.scim("POST", "/Users", Some(&user("dave", None)));
    assert_eq!((carol.status, dave.status), (201, 201));
    let carol_id = carol.body["id"].as_str().unwrap();
    let dave_id = dave.body["id"].as_str().unwrap();
    let events = events_until(tmp.path(), |e| !of_type(e, "inlet.user.created", dave_id).is_empty());
    assert_eq!(of_type(&events, "inlet.user.enrollment_requested", carol_id).len(), 1);
    assert!(of_type(&events, "inlet.user.enrollment_requested", dave_id).is_empty());
    assert!(of_type(&events, "inlet.user.enrollment_requested", &bob_id).is_empty());
    let claim = of_type(&events, "inlet.user.claimed", &bob_id);
    assert_eq!(claim.len(), 1);
    assert_eq!(claim[0]["source"]["kind"], "scim");
    assert_eq!(claim[0]["data"]["id"], bob_id.as_str());

    // readAllUsers on: SCIM sees manual users and groups too.
    let erin = t.manual("users", &user("erin@acme.com", None));
    assert_eq!(t.scim("GET", "/Users?filter=userName%20eq%20%22erin%40acme.com%22", None).body["totalResults"], 0);
    t.settings(&["--read-all-users", "true"]);
    let seen = t.scim("GET", "/Users?filter=userName%20eq%20%22erin%40acme.com%22", None);
    assert_eq!(seen.body["Resources"][0]["id"], erin["id"]);
    assert_eq!(t.scim("GET", "/Users", None).body["totalResults"], 4);
    assert_eq!(t.scim("GET", "/Groups", None).body["totalResults"], 1);
}

/// NordLayer (seed 002): provisioned members and teams are read-only to the vendor while
/// provisioning is on; manual members cannot join provisioned teams, provisioned members can
/// join manual ones; turning provisioning off makes them editable, source kept; the activity
/// log shows every action.
#[test]
fn nordlayer_provisioned_teams_are_read_only_until_provisioning_is_off() {
    let tmp = tempfile::tempdir().unwrap();
    let s = server(tmp.path());
    let t = Tenant::new(&s, "nordlayer");
    let ann = t.scim("POST", "/Users", Some(&user("ann@nord.example", Some("ann@nord.example"))));
    let ann_id = ann.body["id"].as_str().unwrap().to_owned();
    let eng = t.scim("POST", "/Groups", Some(&json!({"displayName": "Engineering", "members": [{"value": ann_id}]})));
    let eng_id = eng.body["id"].as_str().unwrap().to_owned();
    assert_eq!(eng.status, 201);

    let (ok, _) = t.cli_with_file(&["users", "update", "nordlayer", &ann_id], &user("ann@nord.example", None));
    assert!(!ok, "a provisioned user is read-only to the vendor");
    assert!(!s.cli(&["groups", "delete", "nordlayer", &eng_id]).0, "a provisioned team is read-only");
    let manual = t.manual("users", &user("max@nord.example", None));
    let max_id = manual["id"].as_str().unwrap().to_owned();
    assert!(!s.cli(&["groups", "add-members", "nordlayer", &eng_id, &max_id]).0);
    let ops = t.manual("groups", &json!({"displayName": "Ops"}));
    let ops_id = ops["id"].as_str().unwrap().to_owned();
    assert!(
        s.cli(&["groups", "add-members", "nordlayer", &ops_id, &ann_id]).0,
        "provisioned members join manual teams"
    );

    // Provisioning off: editable, source kept; SCIM refused.
    t.settings(&["--provisioning", "false"]);
    assert_eq!(t.scim("GET", "/Users", None).status, 403);
    let (ok, out) = t.cli_with_file(&["users", "update", "nordlayer", &ann_id], &user("ann@nord.example", None));
    assert!(ok, "{out}");
    let edited: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(edited[SOURCE]["kind"], "scim");
    assert!(edited.get("emails").is_none());

    let log = t.activity();
    let kinds: Vec<&str> = log.iter().filter_map(|e| e["type"].as_str()).collect();
    for want in ["inlet.user.created", "inlet.group.created", "inlet.group.members_added", "inlet.user.updated"] {
        assert!(kinds.contains(&want), "{want} missing from {kinds:?}");
    }
    assert!(kinds.contains(&"inlet.token.issued"), "{kinds:?}");
    let settings = log.iter().find(|e| e["type"] == "inlet.tenant.updated").unwrap();
    assert_eq!(settings["changed"], json!(["settings.provisioning"]));
    assert_eq!(settings["actor"]["kind"], "admin");
    let times: Vec<&str> = log.iter().filter_map(|e| e["time"].as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let by_admin = log.iter().find(|e| e["type"] == "inlet.user.updated").unwrap();
    assert_eq!(by_admin["actor"]["kind"], "admin");
    assert_eq!(by_admin["changed"], json!(["emails"]), "names, never values");
    assert!(log.iter().all(|e| !e.to_string().contains(&t.token)), "no token in the log");
    let about_ann = s.cli_json(&["activity", "nordlayer", "--resource", &ann_id]);
    assert!(about_ann.as_array().unwrap().iter().all(|e| e["resource"]["id"] == ann_id.as_str()));
}

/// Xakia (seed 003): deactivation keeps the user's data; the event says deactivated.
#[test]
fn xakia_deactivation_keeps_the_user() {
    let tmp = tempfile::tempdir().unwrap();
    let s = server(tmp.path());
    let t = Tenant::new(&s, "xakia");
    let u = t.scim("POST", "/Users", Some(&user("zoe@xakia.example", Some("zoe@xakia.example"))));
    let id = u.body["id"].as_str().unwrap().to_owned();
    let off =
        t.scim("PATCH", &format!("/Users/{id}"), Some(&patch(json!([{"op": "replace", "value": {"active": false}}]))));
    assert!(off.status == 204 || off.status == 200, "{}", off.raw);
    let kept = t.scim("GET", &format!("/Users/{id}"), None);
    assert_eq!(
        (kept.body["active"].clone(), kept.body["emails"][0]["value"].clone()),
        (json!(false), json!("zoe@xakia.example"))
    );
    let events = events_until(tmp.path(), |e| !of_type(e, "inlet.user.deactivated", &id).is_empty());
    let ev = of_type(&events, "inlet.user.deactivated", &id);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["data"]["active"], false);
    assert_eq!(ev[0]["changed"], json!(["active"]));
    assert_eq!(ev[0]["resource"]["version"], 2);
}

/// Axiad (seed 004): a group deleted by the IdP removes its memberships; the event is emitted.
#[test]
fn axiad_group_deletion_removes_memberships() {
    let tmp = tempfile::tempdir().unwrap();
    let s = server(tmp.path());
    let t = Tenant::new(&s, "axiad");
    let ids: Vec<String> = (0..3)
        .map(|i| {
            t.scim("POST", "/Users", Some(&user(&format!("u{i}@axiad.example"), None))).body["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let g = t.scim("POST", "/Groups", Some(&json!({"displayName": "Badges", "members": members})));
    let gid = g.body["id"].as_str().unwrap().to_owned();
    assert_eq!(t.scim("DELETE", &format!("/Groups/{gid}"), None).status, 204);
    for id in &ids {
        let u = t.scim("GET", &format!("/Users/{id}?attributes=groups"), None);
        assert!(u.body.get("groups").is_none_or(|g| g.as_array().is_some_and(Vec::is_empty)), "{}", u.raw);
    }
    let events = events_until(tmp.path(), |e| !of_type(e, "inlet.group.deleted", &gid).is_empty());
    assert_eq!(of_type(&events, "inlet.group.deleted", &gid).len(), 1);
    let added = of_type(&events, "inlet.group.members_added", &gid);
    assert_eq!(added.iter().map(|e| e["members"].as_array().unwrap().len()).sum::<usize>(), 3);
}

/// 20 concurrent member PATCHes (overlapping: each user is added by two of them) produce
/// exactly one addition event per member committed, each with a distinct event id.
#[test]
fn concurrent_member_patches_record_what_was_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let s = server(tmp.path());
    let t = Tenant::new(&s, "race");
    let ids: Vec<String> = (0..20)
        .map(|i| {
            t.scim("POST", "/Users", Some(&user(&format!("r{i}@race.example"), None))).body["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let g = t.scim("POST", "/Groups", Some(&json!({"displayName": "Racers"})));
    let gid = g.body["id"].as_str().unwrap().to_owned();
    std::thread::scope(|scope| {
        for i in 0..20 {
            let (t, ids, gid) = (&t, &ids, &gid);
            scope.spawn(move || {
                let pair = [ids[i].clone(), ids[(i + 1) % 20].clone()];
                let body = patch(json!([{"op": "add", "path": "members", "value": pair.iter().map(|id| json!({"value": id})).collect::<Vec<_>>()}]));
                let r = t.scim("PATCH", &format!("/Groups/{gid}"), Some(&body));
                assert!(r.status == 204 || r.status == 200, "{}", r.raw);
            });
        }
    });
    let members = t.scim("GET", &format!("/Groups/{gid}"), None).body["members"].as_array().unwrap().len();
    assert_eq!(members, 20);
    let events = events_until(tmp.path(), |e| {
        of_type(e, "inlet.group.members_added", &gid)
            .iter()
            .map(|e| e["members"].as_array().unwrap().len())
            .sum::<usize>()
            >= 20
    });
    let added: Vec<&Value> = of_type(&events, "inlet.group.members_added", &gid);
    let mut ids_added: Vec<&str> =
        added.iter().flat_map(|e| e["members"].as_array().unwrap()).filter_map(Value::as_str).collect();
    ids_added.sort_unstable();
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(ids_added, want, "each member added exactly once");
    let mut event_ids: Vec<&str> = events.iter().filter_map(|e| e["id"].as_str()).collect();
    let n = event_ids.len();
    event_ids.sort_unstable();
    event_ids.dedup();
    assert_eq!(event_ids.len(), n, "event ids are unique");
}

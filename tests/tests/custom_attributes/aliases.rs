//! Akamai's `aliases` (seed 001) as Okta sends them: create, PUT, PATCH, collisions, lookup.

use super::{Tenant, alias_values, aliases_decl, assert_conflict, okta_user, server};
use serde_json::json;

#[test]
fn akamai_aliases_as_okta_sends_them() {
    let (s, _dir) = server();
    let t = Tenant::new(&s, "akamai");
    let registry = t.declare(json!([aliases_decl()]));
    assert_eq!(registry["version"], 1);
    assert_eq!(registry["attributes"][0]["name"], "aliases");
    assert_eq!(registry["attributes"][0]["declaredInVersion"], 1);

    let bob = t.create(&okta_user("bob@acme.com", &["bob.alias@acme.com"]));
    let id = bob["id"].as_str().unwrap();
    assert_eq!(bob["aliases"], json!([{"type": "email", "value": "bob.alias@acme.com"}]));
    assert_eq!(t.get(id, "")["aliases"], bob["aliases"]);

    // Found by an alias, whatever its case, alone or beside userName.
    assert_eq!(t.find(r#"aliases.value eq "BOB.Alias@acme.com""#, ""), [id]);
    assert_eq!(t.find(r#"userName eq "bob.alias@acme.com" or aliases.value eq "bob.alias@acme.com""#, ""), [id]);
    assert_eq!(t.find(r#"userName eq "bob@acme.com" or aliases.value eq "bob@acme.com""#, ""), [id]);
    assert_eq!(t.find(r#"aliases[type eq "email" and value eq "bob.alias@acme.com"]"#, ""), [id]);
    assert!(t.find(r#"aliases.value eq "nobody@acme.com""#, "").is_empty());

    // Another user may not take Bob's alias, in any case, by POST or PATCH.
    assert_conflict(&t.scim("POST", "/Users", Some(&okta_user("alice@acme.com", &["Bob.Alias@ACME.com"]))), "aliases");
    let alice = t.create(&okta_user("alice@acme.com", &["alice.alias@acme.com"]));
    let alice_id = alice["id"].as_str().unwrap();
    let taken = t.patch(
        alice_id,
        json!([{"op": "add", "path": "aliases", "value": [{"type": "email", "value": "bob.alias@acme.com"}]}]),
    );
    assert_conflict(&taken, "aliases");

    // Okta's PUT with changed aliases replaces them; the old one is free again.
    let mut put = okta_user("bob@acme.com", &["bob.new@acme.com", "robert@acme.com"]);
    put["id"] = json!(id);
    let r = t.scim("PUT", &format!("/Users/{id}"), Some(&put));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(alias_values(&t.get(id, "")), ["bob.new@acme.com", "robert@acme.com"]);
    assert!(t.find(r#"aliases.value eq "bob.alias@acme.com""#, "").is_empty());
    assert_eq!(t.find(r#"aliases.value eq "robert@acme.com""#, ""), [id]);
    t.patched(
        alice_id,
        json!([{"op": "add", "path": "aliases", "value": [{"type": "email", "value": "bob.alias@acme.com"}]}]),
    );
    assert_eq!(t.find(r#"aliases.value eq "bob.alias@acme.com""#, ""), [alice_id]);

    // PATCH removing one alias by a value filter; the removed one is free.
    let got = t.patched(id, json!([{"op": "remove", "path": "aliases[value eq \"robert@acme.com\"]"}]));
    assert_eq!(alias_values(&got), ["bob.new@acme.com"]);
    assert!(t.find(r#"aliases.value eq "robert@acme.com""#, "").is_empty());
    t.create(&okta_user("carol@acme.com", &["robert@acme.com"]));

    // Replace as Okta and the path forms send it.
    let got =
        t.patched(id, json!([{"op": "replace", "value": {"aliases": [{"type": "email", "value": "bobby@acme.com"}]}}]));
    assert_eq!(alias_values(&got), ["bobby@acme.com"]);
    let got =
        t.patched(id, json!([{"op": "replace", "path": "aliases[type eq \"email\"].value", "value": "bob2@acme.com"}]));
    assert_eq!(got["aliases"], json!([{"type": "email", "value": "bob2@acme.com"}]));
    assert_eq!(t.find(r#"aliases.value eq "bob2@acme.com""#, ""), [id]);
    assert!(t.find(r#"aliases.value eq "bobby@acme.com""#, "").is_empty());
    let r = t.patch(
        id,
        json!([{"op": "replace", "path": "aliases[type eq \"email\"].value", "value": "alice.alias@acme.com"}]),
    );
    assert_conflict(&r, "aliases");

    // The vendor's own lookup, through the CLI: which user is this alias?
    let found = s.cli_json(&["users", "list", "akamai", "--filter", r#"aliases.value eq "BOB2@acme.com""#]);
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["userName"], "bob@acme.com");
}

#[test]
fn an_alias_is_freed_when_okta_clears_it_or_the_user_goes() {
    let (s, _dir) = server();
    let t = Tenant::new(&s, "akamai");
    t.declare(json!([aliases_decl()]));
    let bob = t.create(&okta_user("bob@acme.com", &["bob@acme.com", "Robert@acme.com", "robert@ACME.com"]));
    let id = bob["id"].as_str().unwrap();
    // Bob's own values never collide with each other, nor with themselves on a PUT that keeps them.
    assert_eq!(alias_values(&bob), ["bob@acme.com", "Robert@acme.com", "robert@ACME.com"]);
    let mut put = okta_user("bob@acme.com", &["bob@acme.com", "robert@acme.com"]);
    let r = t.scim("PUT", &format!("/Users/{id}"), Some(&put));
    assert_eq!(r.status, 200, "{}", r.raw);
    // Found once, though both sides of the `or` name him; `aliases eq` compares the value.
    assert_eq!(t.find(r#"userName eq "bob@acme.com" or aliases.value eq "bob@acme.com""#, ""), [id]);
    assert_eq!(t.find(r#"aliases eq "ROBERT@acme.com""#, ""), [id]);
    // An indexed branch beside one that is not: both kinds of match come back.
    let carol = t.create(&okta_user("carol@acme.com", &[]))["id"].as_str().unwrap().to_owned();
    let mut both = t.find(r#"aliases.value eq "robert@acme.com" or userName sw "carol""#, "");
    both.sort();
    let mut want = vec![id.to_owned(), carol.clone()];
    want.sort();
    assert_eq!(both, want);
    assert!(t.find(r#"aliases.value eq "robert@acme.com" and active eq false"#, "").is_empty());

    // Okta's PUT after the admin cleared the alias: no `aliases`, so none are kept.
    put.as_object_mut().unwrap().remove("aliases");
    let r = t.scim("PUT", &format!("/Users/{id}"), Some(&put));
    assert!(r.status == 200 && r.body.get("aliases").is_none(), "{}", r.raw);
    assert!(t.find(r#"aliases.value eq "robert@acme.com""#, "").is_empty());
    let dave = t.create(&okta_user("dave@acme.com", &["robert@acme.com"]));
    // Deleting a user frees every alias they held.
    let r = t.scim("DELETE", &format!("/Users/{}", dave["id"].as_str().unwrap()), None);
    assert_eq!(r.status, 204, "{}", r.raw);
    assert!(t.find(r#"aliases.value eq "robert@acme.com""#, "").is_empty());
    let erin = t.create(&okta_user("erin@acme.com", &["robert@acme.com"]));
    assert_eq!(t.find(r#"aliases.value eq "robert@acme.com""#, ""), [erin["id"].as_str().unwrap()]);
}

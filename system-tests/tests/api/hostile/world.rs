//! What the corpus runs against: two stacks (one whose worker applies the
//! production URL policy, one `make dev`-like), each served once with the
//! production API policy and once with the local one; the tenants the
//! refused cases aim at; the values made at run time for placeholders; a
//! trap per worker case; and a loopback file server answering the redirect
//! cases.

use std::collections::HashMap;
use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shared::netguard::{self, UrlPolicy};

use super::corpus::{Case, Placeholders, Policy};
use super::trap::Trap;
use system_tests::TestStack;
use testkit::{FileServer, Route};

pub struct Tenant {
    pub id: String,
    pub key: String,
}

pub struct World {
    /// Local API policy, production worker policy: the worker's guard is
    /// the only one in the way.
    production_worker: TestStack,
    /// The same resources behind the production API policy.
    production: TestStack,
    /// `make dev`: local policies everywhere.
    local: TestStack,
    /// The local worker behind the production API policy.
    local_worker: TestStack,
    /// The tenant every refused case is sent as.
    pub victim: Tenant,
    /// Another tenant of the same table, whose cursor and job the victim's
    /// requests try to use.
    pub other: Tenant,
    pub placeholders: Placeholders,
    /// One per worker case, by case name.
    traps: HashMap<String, Trap>,
    files: FileServer,
}

impl World {
    pub async fn start(cases: &[Case]) -> World {
        let (production_worker, local) = tokio::join!(
            TestStack::start_with(|o| o.worker_url_policy = UrlPolicy::Production),
            TestStack::start(),
        );
        let production = production_worker
            .variant(|c| c.url_policy = UrlPolicy::Production)
            .await;
        let local_worker = local
            .variant(|c| c.url_policy = UrlPolicy::Production)
            .await;
        let victim = tenant_with_two_canceled_jobs(&production_worker).await;
        let other = tenant_with_two_canceled_jobs(&production_worker).await;
        let mut placeholders = Placeholders::default();
        placeholders.set("key", &victim.key);
        fill_tenant_placeholders(&production_worker, &victim, &other, &mut placeholders).await;
        match loopback_alias() {
            Some(name) => placeholders.set("loopback_alias", name),
            None => placeholders.set_unavailable(
                "loopback_alias",
                "/etc/hosts has no name other than localhost that maps only to loopback",
            ),
        }
        let mut traps = HashMap::new();
        for case in cases.iter().filter(|c| c.is_worker_case()) {
            traps.insert(case.name.clone(), Trap::start().await);
        }
        let routes = cases
            .iter()
            .filter_map(|case| {
                if let Some(served) = &case.serve_base64 {
                    return Some(file_route(case, served));
                }
                let location = case.redirect_to.as_deref()?;
                let location = with_trap(&placeholders, &traps, case)
                    .fill(location)
                    .unwrap_or_else(|e| panic!("{}: redirect_to: {e:?}", case.label()));
                Some(redirect_route(case, location))
            })
            .collect();
        let files = FileServer::start(routes).await;
        World {
            production_worker,
            production,
            local,
            local_worker,
            victim,
            other,
            placeholders,
            traps,
            files,
        }
    }

    /// The server whose API and worker apply these URL policies.
    pub fn server(&self, api: Policy, worker: Policy) -> &TestStack {
        match (api, worker) {
            (Policy::Production, Policy::Production) => &self.production,
            (Policy::Local, Policy::Production) => &self.production_worker,
            (Policy::Local, Policy::Local) => &self.local,
            (Policy::Production, Policy::Local) => &self.local_worker,
        }
    }

    /// Runs both workers; before this, accepted jobs stay queued.
    pub fn start_workers(&self) {
        self.production_worker.start_worker();
        self.local.start_worker();
    }

    /// The placeholders of a worker case: the shared ones, its tenant's key,
    /// its trap's port and the address of its redirect.
    pub fn placeholders_for(&self, case: &Case, key: &str) -> Placeholders {
        let mut placeholders = with_trap(&self.placeholders, &self.traps, case);
        placeholders.set("key", key);
        placeholders.set(
            "redirect_url",
            format!("{}{}", self.files.base, route_of(case)),
        );
        placeholders.set("file_url", format!("{}{}", self.files.base, route_of(case)));
        placeholders
    }

    /// The trap of a worker case.
    pub fn trap(&self, case: &Case) -> &Trap {
        &self.traps[&case.name]
    }
}

/// The shared placeholders plus `{{trap_port}}` for a worker case.
fn with_trap(shared: &Placeholders, traps: &HashMap<String, Trap>, case: &Case) -> Placeholders {
    let mut placeholders = shared.clone();
    if let Some(trap) = traps.get(&case.name) {
        placeholders.set("trap_port", trap.port.to_string());
    }
    placeholders
}

/// A tenant with room to spare (a refusal must never be a rate limit) and
/// two jobs, so its listing has a second page; canceled, so no worker ever
/// touches them.
async fn tenant_with_two_canceled_jobs(t: &TestStack) -> Tenant {
    let (id, key) = t.tenant(1_000, 1_000).await;
    for prompt in ["first", "second"] {
        let submitted = t.submit(&key, &format!(r#"{{"prompt":"{prompt}"}}"#)).await;
        assert_eq!(submitted.status, 202, "{}", submitted.body);
        let job = submitted.body["jobId"].as_str().expect("a job id");
        let canceled = t.cancel(&key, job).await;
        assert_eq!(canceled.status, 200, "{}", canceled.body);
    }
    Tenant { id, key }
}

/// Cursors and a job id that the victim must not be able to use.
async fn fill_tenant_placeholders(
    t: &TestStack,
    victim: &Tenant,
    other: &Tenant,
    placeholders: &mut Placeholders,
) {
    let next_cursor = |key: &str, query: &str| {
        let path = format!("/v1/jobs?{query}");
        let key = key.to_string();
        async move {
            let page = t.get(&key, &path).await;
            assert_eq!(page.status, 200, "{}", page.body);
            page.body["nextCursor"]
                .as_str()
                .expect("two jobs, pages of one: a next page")
                .to_string()
        }
    };
    let other_page = t.get(&other.key, "/v1/jobs?limit=1").await;
    let other_job = other_page.body["items"][0]["id"].as_str().expect("a job");
    placeholders.set("other_tenant_job", other_job);
    let own_page = t.get(&victim.key, "/v1/jobs?limit=1").await;
    let own_job = own_page.body["items"][0]["id"].as_str().expect("a job");
    placeholders.set("own_job", own_job);
    placeholders.set(
        "other_tenant_cursor",
        next_cursor(&other.key, "limit=1").await,
    );
    let own = next_cursor(&victim.key, "limit=1").await;
    placeholders.set("own_cursor_flipped_mac", flip_mac_byte(&own));
    placeholders.set(
        "own_canceled_cursor",
        next_cursor(&victim.key, "status=CANCELED&limit=1").await,
    );
}

/// The cursor (`v1.<position>.<mac>`, see `shared::cursor`) with one bit of
/// its MAC's first byte flipped: the same length, a valid encoding, a
/// wrong tag.
fn flip_mac_byte(cursor: &str) -> String {
    let (signed, mac) = cursor.rsplit_once('.').expect("a v1 cursor");
    let mut mac = URL_SAFE_NO_PAD.decode(mac).expect("a base64url MAC");
    mac[0] ^= 0x01;
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac))
}

/// A name `/etc/hosts` maps only to loopback addresses that the URL check
/// does not refuse by its spelling (not `localhost` or `*.localhost`): only
/// the worker's resolver can catch it. Resolved from the file, never by DNS.
fn loopback_alias() -> Option<String> {
    let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
    let mut addresses: HashMap<&str, Vec<IpAddr>> = HashMap::new();
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let Some(Ok(ip)) = fields.next().map(str::parse::<IpAddr>) else {
            continue;
        };
        for name in fields {
            addresses.entry(name).or_default().push(ip);
        }
    }
    let mut names: Vec<&str> = addresses
        .iter()
        .filter(|(name, ips)| {
            ips.iter().all(IpAddr::is_loopback)
                && netguard::check_url(&format!("https://{name}/"), UrlPolicy::Production).is_ok()
        })
        .map(|(name, _)| *name)
        .collect();
    names.sort_unstable();
    names.first().map(|n| n.to_string())
}

/// `/<case name>`: where the file server answers a case's redirect.
fn route_of(case: &Case) -> String {
    format!("/{}", case.name)
}

/// A 302 from the case's route to `location`. The file server wants
/// `'static` paths; the handful of short strings leaked here live as long
/// as the test process anyway.
fn redirect_route(case: &Case, location: String) -> Route {
    let path: &'static str = route_of(case).leak();
    (path, 302, vec![("location", location)], Vec::new())
}

/// A 200 from the case's route with the case's bytes.
fn file_route(case: &Case, base64: &str) -> Route {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64)
        .unwrap_or_else(|e| panic!("{}: serve_base64: {e}", case.label()));
    let path: &'static str = route_of(case).leak();
    (path, 200, vec![("content-type", "image/png".into())], bytes)
}

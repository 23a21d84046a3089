//! The in-memory environment: its resources, sign-on flows, sessions, codes and refresh tokens.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use super::clock::Clock;
use super::ids::Ids;
use super::jwt::Signer;

/// Sign-on flows live 15 minutes (PingOne's `expiresAt - createdAt`).
pub(crate) const FLOW_TTL: Duration = Duration::from_secs(15 * 60);
/// Authorization codes are short-lived; PingOne does not document the exact value.
pub(crate) const CODE_TTL: Duration = Duration::from_secs(60);
/// Access and ID tokens live one hour (`expires_in` 3600).
pub(crate) const ACCESS_TTL: Duration = Duration::from_secs(3600);
/// Sessions and the `ST` cookie last 30 days.
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// The Standard password policy locks an account for 900 s after 5 failures.
pub(crate) const LOCKOUT_FAILURES: u32 = 5;
pub(crate) const LOCKOUT_DURATION: Duration = Duration::from_secs(900);
/// PingOne's default `refreshTokenDuration` (30 days).
pub(crate) const DEFAULT_REFRESH_TTL: u64 = 2_592_000;

/// Everything the handlers share: fixed facts outside the lock, mutable state inside it.
pub(crate) struct Shared {
    pub(crate) signer: Signer,
    pub(crate) clock: Clock,
    pub(crate) env_id: String,
    pub(crate) org_id: String,
    pub(crate) theme_id: String,
    pub(crate) policy_id: String,
    pub(crate) worker_client_id: String,
    /// Origin used for links when a request has no usable `Host` header.
    pub(crate) fallback_base: String,
    state: Mutex<State>,
}

impl Shared {
    /// Seeds an environment holding one worker application.
    pub(crate) fn new(
        seed: Option<u64>,
        clock: Clock,
        secret_not_ready_reads: u32,
        fallback_base: String,
    ) -> (Self, String) {
        let mut ids = Ids::new(seed);
        let env_id = ids.uuid();
        let org_id = ids.uuid();
        let theme_id = ids.uuid();
        let policy_id = ids.uuid();
        let now = clock.now();
        let worker = App {
            id: ids.uuid(),
            secret: ids.secret(),
            // The worker's secret exists from the start; only new apps are eventually consistent.
            secret_reads_pending: 0,
            name: "Worker App".to_owned(),
            description: None,
            enabled: true,
            kind: "WORKER".to_owned(),
            protocol: "OPENID_CONNECT".to_owned(),
            response_types: Vec::new(),
            grant_types: vec!["CLIENT_CREDENTIALS".to_owned()],
            token_endpoint_auth_method: "CLIENT_SECRET_BASIC".to_owned(),
            pkce_enforcement: "OPTIONAL".to_owned(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: None,
            refresh_token_duration: None,
            refresh_token_rolling_duration: None,
            refresh_token_rolling_grace_period_duration: None,
            replay_protection: true,
            refresh_token_type: None,
            jwks: None,
            jwks_url: None,
            created_at: now,
            updated_at: now,
        };
        let worker_secret = worker.secret.clone();
        let shared = Self {
            signer: Signer::new(),
            clock,
            env_id,
            org_id,
            theme_id,
            policy_id,
            worker_client_id: worker.id.clone(),
            fallback_base,
            state: Mutex::new(State {
                ids,
                secret_not_ready_reads,
                apps: vec![worker],
                populations: Vec::new(),
                users: Vec::new(),
                flows: HashMap::new(),
                sessions: HashMap::new(),
                codes: HashMap::new(),
                refresh_tokens: HashMap::new(),
                families: HashMap::new(),
                assertion_ids: HashMap::new(),
            }),
        };
        (shared, worker_secret)
    }

    /// Locks the mutable state; a panicked handler leaves it usable for the others.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns a fresh UUID from the environment's id source.
    pub(crate) fn new_id(&self) -> String {
        self.lock().ids.uuid()
    }

    /// Returns the management API prefix of this environment for `base`.
    pub(crate) fn env_href(&self, base: &str) -> String {
        format!("{base}/v1/environments/{}", self.env_id)
    }

    /// Returns the token issuer for `base`, e.g. `http://127.0.0.1:8080/{envID}/as`.
    pub(crate) fn issuer(&self, base: &str) -> String {
        format!("{base}/{}/as", self.env_id)
    }
}

/// Mutable state of the environment.
pub(crate) struct State {
    pub(crate) ids: Ids,
    pub(crate) secret_not_ready_reads: u32,
    /// Kept in creation order so lists come back stable.
    pub(crate) apps: Vec<App>,
    pub(crate) populations: Vec<Population>,
    pub(crate) users: Vec<User>,
    pub(crate) flows: HashMap<String, Flow>,
    /// Sessions by id.
    pub(crate) sessions: HashMap<String, Session>,
    pub(crate) codes: HashMap<String, Code>,
    /// Refresh tokens by their full token string.
    pub(crate) refresh_tokens: HashMap<String, RefreshToken>,
    pub(crate) families: HashMap<String, Family>,
    /// Client assertions already used, by client id and `jti`, with when they expire.
    pub(crate) assertion_ids: HashMap<(String, String), SystemTime>,
}

impl State {
    pub(crate) fn app(&self, id: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.id == id)
    }

    pub(crate) fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub(crate) fn population(&self, id: &str) -> Option<&Population> {
        self.populations.iter().find(|p| p.id == id)
    }

    /// Revokes a refresh-token family so none of its tokens works again.
    pub(crate) fn revoke_family(&mut self, family_id: &str) {
        if let Some(family) = self.families.get_mut(family_id) {
            family.revoked = true;
        }
    }
}

/// An application (only the OIDC fields the workflow touches are modelled).
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) id: String,
    pub(crate) secret: String,
    /// GET secret answers 404 this many more times (PingOne generates secrets asynchronously).
    pub(crate) secret_reads_pending: u32,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) enabled: bool,
    pub(crate) kind: String,
    pub(crate) protocol: String,
    pub(crate) response_types: Vec<String>,
    pub(crate) grant_types: Vec<String>,
    pub(crate) token_endpoint_auth_method: String,
    pub(crate) pkce_enforcement: String,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) post_logout_redirect_uris: Option<Vec<String>>,
    pub(crate) refresh_token_duration: Option<u64>,
    pub(crate) refresh_token_rolling_duration: Option<u64>,
    pub(crate) refresh_token_rolling_grace_period_duration: Option<u64>,
    pub(crate) replay_protection: bool,
    pub(crate) refresh_token_type: Option<String>,
    /// The public keys of a `PRIVATE_KEY_JWT` client, as the JWKS text registered (`jwks`).
    pub(crate) jwks: Option<String>,
    /// Where PingOne would fetch those keys instead (`jwksUrl`); the emulator does not fetch.
    pub(crate) jwks_url: Option<String>,
    pub(crate) created_at: SystemTime,
    pub(crate) updated_at: SystemTime,
}

impl App {
    pub(crate) fn has_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
}

pub(crate) struct Population {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) default: bool,
    pub(crate) created_at: SystemTime,
    pub(crate) updated_at: SystemTime,
}

pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) username: String,
    pub(crate) email: String,
    pub(crate) given_name: Option<String>,
    pub(crate) family_name: Option<String>,
    pub(crate) population_id: String,
    pub(crate) enabled: bool,
    pub(crate) password: Option<Password>,
    /// Consecutive wrong passwords since the last success or lockout.
    pub(crate) failures: u32,
    pub(crate) locked_until: Option<SystemTime>,
    pub(crate) created_at: SystemTime,
    pub(crate) updated_at: SystemTime,
}

/// A stored password: salted SHA-256, so the emulator never keeps the clear text around.
pub(crate) struct Password {
    pub(crate) salt: String,
    pub(crate) hash: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlowStatus {
    UsernamePasswordRequired,
    Completed,
}

impl FlowStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::UsernamePasswordRequired => "USERNAME_PASSWORD_REQUIRED",
            Self::Completed => "COMPLETED",
        }
    }
}

/// A sign-on flow started by `/as/authorize`, holding the authorize request until resume.
pub(crate) struct Flow {
    pub(crate) id: String,
    pub(crate) app_id: String,
    pub(crate) redirect_uri: String,
    /// `response_mode=pi.flow`: JSON answers instead of redirects.
    pub(crate) pi_mode: bool,
    pub(crate) state: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) challenge: Option<Challenge>,
    pub(crate) status: FlowStatus,
    pub(crate) user_id: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) created_at: SystemTime,
    pub(crate) expires_at: SystemTime,
}

/// A PKCE code challenge (RFC 7636).
#[derive(Clone)]
pub(crate) struct Challenge {
    pub(crate) value: String,
    /// `S256` or `plain`.
    pub(crate) method: String,
}

/// A signed-on session; its `token` is the `ST` cookie value.
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) user_id: String,
    pub(crate) token: String,
    pub(crate) auth_time: SystemTime,
    pub(crate) expires_at: SystemTime,
}

/// An authorization code and everything it is bound to.
pub(crate) struct Code {
    pub(crate) app_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) user_id: String,
    pub(crate) session_id: String,
    pub(crate) nonce: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) challenge: Option<Challenge>,
    pub(crate) expires_at: SystemTime,
    pub(crate) redeemed: bool,
    /// The refresh-token family its redemption started, revoked if the code is replayed.
    pub(crate) family_id: Option<String>,
}

/// One refresh token of a rotation family.
pub(crate) struct RefreshToken {
    pub(crate) family_id: String,
    pub(crate) expires_at: SystemTime,
    /// When it was exchanged for a newer token.
    pub(crate) rotated_at: Option<SystemTime>,
}

/// The chain of refresh tokens descending from one code redemption.
pub(crate) struct Family {
    pub(crate) app_id: String,
    pub(crate) user_id: String,
    pub(crate) session_id: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) auth_time: SystemTime,
    /// `refreshTokenRollingDuration` is counted from here.
    pub(crate) started_at: SystemTime,
    pub(crate) revoked: bool,
}

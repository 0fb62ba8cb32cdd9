//! The bearer token that calls changing state must present: `Authorization: Bearer <token>`,
//! compared with `admin.token` (set it from the environment: `token: ${ROUTER_ADMIN_TOKEN}`).
//! Without a configured token such calls are refused (403). Reads (listings, metrics) need
//! `admin.read_token` (or the admin token) when one is set; the probes never need a token.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use sha2::{Digest, Sha256};

use super::{AdminState, error};

/// `routes`, each answering only calls that carry the admin token.
pub fn state_changing(
    routes: Router<Arc<AdminState>>,
    state: &Arc<AdminState>,
) -> Router<Arc<AdminState>> {
    routes.route_layer(middleware::from_fn_with_state(state.clone(), require_token))
}

async fn require_token(
    State(state): State<Arc<AdminState>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = &state.token else {
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "calls that change state are refused: set admin.token (e.g. `token: ${ROUTER_ADMIN_TOKEN}`)",
        );
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match presented {
        Some(presented) if same(presented, token.expose()) => next.run(request).await,
        _ => {
            let mut response = error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this call changes state: send `Authorization: Bearer <admin.token>`",
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}

/// `routes` that read (listings with recipient lists, metrics): open unless `admin.read_token`
/// is set, then answering only calls with it (or the admin token).
pub fn reading(
    routes: Router<Arc<AdminState>>,
    state: &Arc<AdminState>,
) -> Router<Arc<AdminState>> {
    routes.route_layer(middleware::from_fn_with_state(
        state.clone(),
        require_read_token,
    ))
}

async fn require_read_token(
    State(state): State<Arc<AdminState>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(read_token) = &state.read_token else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let accepted = presented.is_some_and(|presented| {
        same(presented, read_token.expose())
            || state
                .token
                .as_ref()
                .is_some_and(|token| same(presented, token.expose()))
    });
    if accepted {
        return next.run(request).await;
    }
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "reading needs `Authorization: Bearer <admin.read_token>`",
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Compares the digests, so the time taken tells nothing about the token.
fn same(presented: &str, token: &str) -> bool {
    Sha256::digest(presented.as_bytes()) == Sha256::digest(token.as_bytes())
}

#[cfg(test)]
mod tests {
    use axum::routing::post;
    use tokio::net::TcpListener;

    use super::*;
    use crate::secret::Secret;
    use crate::telemetry::metrics::Metrics;

    /// Serves one state-changing route (`POST /change`, answering 204) with `token` configured.
    async fn serve(token: Option<&str>) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("router.yaml");
        let config = crate::config::load_with(&path, &|_| None).expect("the shipped config loads");
        let metrics: &'static Metrics = Box::leak(Box::new(Metrics::new()));
        let mut state = AdminState::new(Arc::new(config), metrics, Arc::default(), None);
        Arc::get_mut(&mut state).expect("unshared").token = token.map(|t| Secret::new(t.into()));
        let routes = Router::new().route("/change", post(|| async { StatusCode::NO_CONTENT }));
        let app = state_changing(routes, &state).with_state(state);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }

    async fn call(base: &str, authorization: Option<&str>) -> (u16, String) {
        let mut request = reqwest::Client::new().post(format!("{base}/change"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("an answer");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a body"))
    }

    #[tokio::test]
    async fn only_the_configured_token_changes_state() {
        let base = serve(Some("s3cret")).await;
        assert_eq!(call(&base, Some("Bearer s3cret")).await.0, 204);
        for wrong in [
            None,
            Some("Bearer s3cre"),
            Some("s3cret"),
            Some("Basic s3cret"),
        ] {
            let (status, body) = call(&base, wrong).await;
            assert_eq!(status, 401, "{wrong:?}: {body}");
            assert!(body.contains("\"code\":\"unauthorized\""), "{body}");
            assert!(!body.contains("s3cret"), "{body}");
        }
    }

    #[tokio::test]
    async fn without_a_token_nothing_changes_state() {
        let base = serve(None).await;
        let (status, body) = call(&base, Some("Bearer ")).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("set admin.token"), "{body}");
    }
}

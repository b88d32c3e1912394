//! LTI client-side postMessage storage (1EdTech "OIDC Login with LTI Client Side
//! postMessages"): the two pages that bind a login to the browser where third-party cookies
//! are blocked.
//!
//! At login initiation a page asks the platform's storage frame (`lti.put_data`) to keep the
//! login's proof, then goes on to the authorization endpoint; when the frame does not answer it
//! starts the login again without storage. At launch a page reads the proof back
//! (`lti.get_data`) and sends it with the id_token to `POST /lti/launch/bound` as JSON: a
//! cross-site form cannot send JSON (the browser would ask first, and the gateway never allows
//! other origins), so only the gateway's own page in the browser that started the login can.
//! Messages go to the frame the platform named, with the `*` target origin (Canvas does not
//! answer messages addressed to its OIDC origin); only answers from that frame (or from the
//! platform's OIDC origin) to those messages are read.

use maud::{html, Markup, PreEscaped};

use super::login::{StorageLogin, StorageTarget};
use super::picker::shell as page;

/// Sends one storage message to the platform's frame and calls back with its answer, or with
/// `null` on an error answer, no answer within 3 s, or no platform window at all.
const STORAGE_SCRIPT: &str = r#"
function ltiStorage(data, message, done) {
  var host = window.opener || window.parent;
  if (!host || host === window) { done(null); return; }
  var target = host;
  if (data.frame !== '_parent') {
    try { if (host.frames[data.frame]) { target = host.frames[data.frame]; } } catch (e) { target = host; }
  }
  var id = 'rg-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2);
  message.message_id = id;
  var finished = false;
  function finish(answer) {
    if (finished) { return; }
    finished = true;
    window.removeEventListener('message', listen);
    clearTimeout(timer);
    done(answer);
  }
  function listen(event) {
    var answer = event.data;
    if (!answer || answer.message_id !== id) { return; }
    if (event.source !== target && event.origin !== data.origin) { return; }
    if (answer.subject !== message.subject + '.response') { return; }
    finish(answer.error ? null : answer);
  }
  window.addEventListener('message', listen);
  var timer = setTimeout(function () { finish(null); }, 3000);
  try { target.postMessage(message, '*'); } catch (e) { finish(null); }
}
"#;

const LOGIN_SCRIPT: &str = r#"
(function () {
  var data = document.getElementById('lti-storage').dataset;
  ltiStorage(data, { subject: 'lti.put_data', key: data.key, value: data.value }, function (answer) {
    window.location.replace(answer ? data.next : data.restart);
  });
})();
"#;

const LAUNCH_SCRIPT: &str = r#"
(function () {
  var data = document.getElementById('lti-storage').dataset;
  var status = document.getElementById('status');
  ltiStorage(data, { subject: 'lti.get_data', key: data.key }, function (answer) {
    var proof = answer && typeof answer.value === 'string' ? answer.value : null;
    fetch(data.confirm, {
      method: 'POST',
      credentials: 'omit',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id_token: data.idToken, state: data.state, proof: proof })
    }).then(function (response) { return response.json(); }).then(function (outcome) {
      if (outcome.location) { window.location.replace(outcome.location); return; }
      document.getElementById('title').textContent = 'The launch was refused';
      status.textContent = outcome.error || 'The gateway refused this launch.';
    }).catch(function () {
      status.textContent = 'The gateway could not be reached; start again from your course.';
    });
  });
})();
"#;

fn storage_attributes(storage: &StorageTarget) -> (String, String, String) {
    (storage.frame.clone(), storage.origin.clone(), storage.key.clone())
}

/// The login initiation's answer when the platform offers storage: keeps the proof there,
/// then goes on to the authorization endpoint (or starts again without storage).
pub fn login_page(login: &StorageLogin) -> Markup {
    let (frame, origin, key) = storage_attributes(&login.storage);
    let body = html! {
        main #"lti-storage" data-frame=(frame) data-origin=(origin) data-key=(key)
            data-value=(login.storage.value) data-next=(login.auth_url) data-restart=(login.restart_url) {
            p { "Signing you in…" }
            noscript { p { a href=(login.restart_url) { "Continue" } } }
        }
        script { (PreEscaped(STORAGE_SCRIPT)) (PreEscaped(LOGIN_SCRIPT)) }
    };
    page("Signing you in…", body)
}

/// The launch's first answer for a login that stored its proof: reads it back from the
/// platform's storage and confirms the launch with it.
pub fn launch_page(storage: &StorageTarget, id_token: &str, state: &str, confirm_url: &str) -> Markup {
    let (frame, origin, key) = storage_attributes(storage);
    let body = html! {
        main #"lti-storage" data-frame=(frame) data-origin=(origin) data-key=(key)
            data-id-token=(id_token) data-state=(state) data-confirm=(confirm_url) {
            h1 #title { "Opening…" }
            p #status role="status" { "Checking this launch with your LMS…" }
            noscript { p { "This launch needs JavaScript: your LMS keeps its sign-in in the browser." } }
        }
        script { (PreEscaped(STORAGE_SCRIPT)) (PreEscaped(LAUNCH_SCRIPT)) }
    };
    page("Opening…", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_pages_carry_their_values_escaped_in_attributes() {
        let storage = StorageTarget {
            frame: "post_message_forwarding".into(),
            origin: "https://sso.lms.example".into(),
            key: "lti_state_abc".into(),
            value: "abc".into(),
        };
        let login = StorageLogin {
            storage: storage.clone(),
            auth_url: "https://sso.lms.example/auth?a=1&state=\"x\"".into(),
            restart_url: "https://gw.example/lti/login?iss=x".into(),
        };
        let html = login_page(&login).into_string();
        assert!(html.contains(r#"data-next="https://sso.lms.example/auth?a=1&amp;state=&quot;x&quot;""#), "{html}");
        assert!(html.contains("lti.put_data") && html.contains(r#"data-frame="post_message_forwarding""#));
        let launch = launch_page(&storage, "a.b.c", "s</script>", "/lti/launch/bound").into_string();
        assert!(launch.contains("lti.get_data") && launch.contains(r#"data-state="s&lt;/script&gt;""#), "{launch}");
    }
}

// Command signing in the browser: the second, independent implementation of the
// envelope format of agent/report/envelope.py (docs: the signed bytes are a domain line
// followed by canonical JSON: keys sorted by code point at every depth, no whitespace,
// UTF-8, only integers as numbers). Private keys are imported non-extractable into
// WebCrypto and never leave this page.

export const COMMAND_DOMAIN = "cleanroom/command/v1\n";
export const APPROVAL_DOMAIN = "cleanroom/approval/v1\n";
const PKCS8_ED25519_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

export class SigningError extends Error {}

function compareCodePoints(a, b) {
  const x = Array.from(a), y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function quote(text) {
  let out = '"';
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (c < 0x20) out += "\\u" + c.toString(16).padStart(4, "0");
    else if (c >= 0xd800 && c <= 0xdfff) throw new SigningError("a text holds a lone surrogate; it has no UTF-8 form");
    else out += ch;
  }
  return out + '"';
}

export function canonical(value, where = "args") {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new SigningError(`${where}: ${value} is not an integer between -(2^53-1) and 2^53-1; signed values are text, integers, true/false or null`);
    }
    return String(value);
  }
  if (typeof value === "string") return quote(value);
  if (Array.isArray(value)) return "[" + value.map((v, i) => canonical(v, `${where}[${i}]`)).join(",") + "]";
  if (typeof value === "object") {
    const keys = Object.keys(value).sort(compareCodePoints);
    return "{" + keys.map((k) => quote(k) + ":" + canonical(value[k], `${where}.${k}`)).join(",") + "}";
  }
  throw new SigningError(`${where}: a ${typeof value} cannot be signed`);
}

const utf8 = (text) => new TextEncoder().encode(text);

export function commandBytes(env) {
  const signed = {
    verb: env.verb, args: env.args, rack: env.rack, issued_at: env.issued_at,
    expires_at: env.expires_at, nonce: env.nonce, key_id: env.key_id,
  };
  return utf8(COMMAND_DOMAIN + canonical(signed, "envelope"));
}

export function approvalBytes(approval) {
  const signed = { key_id: approval.key_id, command_digest: approval.command_digest, issued_at: approval.issued_at };
  return utf8(APPROVAL_DOMAIN + canonical(signed, "approval"));
}

export function b64(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text);
}

function unb64(text, where) {
  try {
    return Uint8Array.from(atob(text.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  } catch {
    throw new SigningError(`${where}: not base64; load the PKCS#8 PEM file made by openssl or \`cleanroom keys new\``);
  }
}

export async function commandDigest(env) {
  const digest = await crypto.subtle.digest("SHA-256", commandBytes(env));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function newNonce() {
  const raw = crypto.getRandomValues(new Uint8Array(18));
  return b64(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function checkWebCrypto() {
  if (!globalThis.isSecureContext || !globalThis.crypto || !crypto.subtle) {
    throw new SigningError("this page is not a secure context, so the browser offers no WebCrypto: open the board over HTTPS or on 127.0.0.1");
  }
}

// A key file's text -> {keyId, key}: a PKCS#8 PEM ("PRIVATE KEY"), or the JSON key file
// of `cleanroom keys new` (its raw 32-byte private key is wrapped into PKCS#8 here).
export async function importKeyFile(name, text) {
  checkWebCrypto();
  let der, keyId = name.replace(/\.(pem|key|json)$/i, "");
  const pem = text.match(/-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/);
  if (pem) {
    der = unb64(pem[1], name);
  } else {
    let record;
    try { record = JSON.parse(text); } catch {
      throw new SigningError(`${name}: neither a PKCS#8 PEM ("BEGIN PRIVATE KEY") nor a cleanroom key file`);
    }
    const raw = unb64(String(record.private_key || ""), `${name}: private_key`);
    if (raw.length !== 32) throw new SigningError(`${name}: private_key has ${raw.length} bytes, an Ed25519 key has 32`);
    der = new Uint8Array([...PKCS8_ED25519_PREFIX, ...raw]);
    keyId = String(record.key_id || keyId);
  }
  let key;
  try {
    key = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
  } catch (err) {
    throw new SigningError(`${name}: not an Ed25519 private key this browser can use (${err.message}); Chromium 113 or newer signs Ed25519`);
  }
  return { keyId, key };
}

export async function signCommand(signer, { verb, args, rack, issuedAt, expiresAt, nonce }) {
  const env = {
    verb, args, rack, issued_at: issuedAt, expires_at: expiresAt,
    nonce: nonce || newNonce(), key_id: signer.keyId, sig: "", approvals: [],
  };
  env.sig = b64(await crypto.subtle.sign({ name: "Ed25519" }, signer.key, commandBytes(env)));
  return env;
}

export async function signApproval(signer, commandDigestHex, issuedAt) {
  const approval = { key_id: signer.keyId, command_digest: commandDigestHex, issued_at: issuedAt, sig: "" };
  approval.sig = b64(await crypto.subtle.sign({ name: "Ed25519" }, signer.key, approvalBytes(approval)));
  return approval;
}

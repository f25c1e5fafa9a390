// The web APIs of pave's JavaScript engine, evaluated once at
// initialisation, before the function's bundle. Native helpers are
// passed in as the object `native` and are not reachable afterwards.
(function (global, native) {
  "use strict";

  function define(name, value) {
    Object.defineProperty(global, name, { value: value, writable: true, configurable: true, enumerable: false });
  }

  // ---- console ----------------------------------------------------------

  function inspect(v, depth) {
    if (typeof v === "string") return v;
    if (v instanceof Error) return v.stack || String(v);
    if (v === undefined || v === null || typeof v !== "object") {
      if (typeof v === "function") return "[Function" + (v.name ? ": " + v.name : "") + "]";
      return String(v);
    }
    try {
      var s = JSON.stringify(v);
      if (s !== undefined) return s;
    } catch (e) {}
    return Object.prototype.toString.call(v);
  }
  function logger(level) {
    return function () {
      var parts = [];
      for (var i = 0; i < arguments.length; i++) parts.push(inspect(arguments[i]));
      native.log(level, parts.join(" "));
    };
  }
  define("console", {
    debug: logger(0), log: logger(1), info: logger(1), warn: logger(2), error: logger(3),
    trace: logger(0),
  });

  // ---- TextEncoder / TextDecoder -----------------------------------------

  class TextEncoder {
    get encoding() { return "utf-8"; }
    encode(s) { return new Uint8Array(native.encode(s === undefined ? "" : String(s))); }
  }
  function bytesOf(v) {
    if (v instanceof ArrayBuffer) return new Uint8Array(v);
    if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    throw new TypeError("expected an ArrayBuffer or a view of one");
  }
  // copyBuffer returns an ArrayBuffer holding exactly the bytes of v.
  function copyBuffer(v) {
    var b = bytesOf(v);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  }
  class TextDecoder {
    constructor(label, options) {
      label = label === undefined ? "utf-8" : String(label).trim().toLowerCase();
      if (label !== "utf-8" && label !== "utf8" && label !== "unicode-1-1-utf-8") {
        throw new RangeError("TextDecoder: only utf-8 is supported, not " + label);
      }
      this._fatal = !!(options && options.fatal);
    }
    get encoding() { return "utf-8"; }
    get fatal() { return this._fatal; }
    decode(v) {
      if (v === undefined) return "";
      return native.decode(copyBuffer(v), this._fatal);
    }
  }
  define("TextEncoder", TextEncoder);
  define("TextDecoder", TextDecoder);

  // ---- crypto, atob and btoa ---------------------------------------------

  // The randomness is the host's (WASI random_get), read during the call:
  // nothing of it is in the snapshot.
  var integerArrays = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array,
    Int32Array, Uint32Array, BigInt64Array, BigUint64Array];
  // crypto.subtle: digests; HMAC; and signatures with ECDSA,
  // RSASSA-PKCS1-v1_5, RSA-PSS and Ed25519. What Web Crypto specifies of
  // algorithms, usages and extractability is checked here; parsing,
  // hashing, signing and verifying are native. A key's material is kept
  // out of reach of the script, in keyData: an HMAC key's bytes, or the DER
  // of a public (SPKI) or private (PKCS #8) key.
  function domError(name, msg) {
    var e = new Error(msg);
    e.name = name;
    return e;
  }
  function hashName(alg, what) {
    var name = typeof alg === "string" ? alg : alg && alg.name;
    var upper = String(name).toUpperCase();
    if (upper === "SHA-1" || upper === "SHA-256" || upper === "SHA-384" || upper === "SHA-512") return upper;
    throw domError("NotSupportedError", what + ": unsupported hash " + name + "; SHA-1, SHA-256, SHA-384 and SHA-512 are");
  }
  var algorithms = ["HMAC", "ECDSA", "RSASSA-PKCS1-v1_5", "RSA-PSS", "Ed25519"];
  // algName returns the algorithm's name as Web Crypto spells it, or
  // throws NotSupportedError.
  function algName(alg, what) {
    var name = String(typeof alg === "string" ? alg : alg && alg.name);
    for (var i = 0; i < algorithms.length; i++) {
      if (algorithms[i].toUpperCase() === name.toUpperCase()) return algorithms[i];
    }
    throw domError("NotSupportedError", what + ": unsupported algorithm " + name + "; " + algorithms.join(", ") + " are");
  }
  var keyData = new WeakMap();
  function checkKey(key, usage, name, what) {
    if (!keyData.has(key)) throw new TypeError(what + ": not a CryptoKey");
    if (key.algorithm.name !== name) throw domError("InvalidAccessError", what + ": the key is an " + key.algorithm.name + " key, not " + name);
    if (key.usages.indexOf(usage) < 0) throw domError("InvalidAccessError", what + ": the key's usages do not include " + usage);
  }
  function checkUsages(usages, allowed, what, kind) {
    usages = Array.from(usages || []);
    usages.forEach(function (u) {
      if (allowed.indexOf(u) < 0) throw domError("SyntaxError", what + ": " + kind + " cannot be used to " + u);
    });
    return usages;
  }
  function makeKey(type, extractable, algorithm, usages, data) {
    var key = Object.freeze({ type: type, extractable: !!extractable, algorithm: Object.freeze(algorithm), usages: Object.freeze(usages) });
    keyData.set(key, data);
    return key;
  }
  // keyAlgorithm is a key's algorithm member: its name and what import
  // or generation fixed (hash, curve, modulus).
  function keyAlgorithm(name, alg, info) {
    if (name === "ECDSA") return { name: name, namedCurve: info.curve };
    if (name === "Ed25519") return { name: name };
    return { name: name, modulusLength: info.bits, publicExponent: new Uint8Array(info.exponent), hash: Object.freeze({ name: hashName(alg.hash, "importKey") }) };
  }
  var rsaJWKAlg = { "RSASSA-PKCS1-v1_5": "RS", "RSA-PSS": "PS" };
  function jwkAlg(name, hash) {
    var bits = hash.slice(4);
    if (name === "HMAC") return "HS" + (bits === "1" ? "1" : bits);
    if (rsaJWKAlg[name]) return rsaJWKAlg[name] + (bits === "1" ? "1" : bits);
    return undefined;
  }
  function b64url(buf) {
    return native.base64(buf).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function signParams(name, alg, key, what) {
    if (name === "ECDSA") return [hashName(alg && alg.hash, what), 0];
    if (name === "RSA-PSS") {
      var salt = alg && alg.saltLength;
      if (typeof salt !== "number" || salt < 0 || salt !== Math.floor(salt)) throw new TypeError(what + ": RSA-PSS needs a saltLength");
      return [key.algorithm.hash.name, salt];
    }
    if (name === "RSASSA-PKCS1-v1_5") return [key.algorithm.hash.name, 0];
    return ["", 0];
  }
  var hmacBlockBits = { "SHA-1": 512, "SHA-256": 512, "SHA-384": 1024, "SHA-512": 1024 };
  var subtle = {
    digest: async function (alg, data) {
      return native.digest(hashName(alg, "digest"), copyBuffer(data));
    },
    importKey: async function (format, data, alg, extractable, usages) {
      var name = algName(alg, "importKey");
      if (name === "HMAC") {
        var hash = hashName(alg.hash, "importKey");
        usages = checkUsages(usages, ["sign", "verify"], "importKey", "an HMAC key");
        if (usages.length === 0) throw domError("SyntaxError", "importKey: no usages");
        var bytes;
        if (format === "raw") {
          bytes = copyBuffer(data);
        } else if (format === "jwk") {
          if (!data || typeof data !== "object") throw new TypeError("importKey: a JWK is an object");
          if (data.alg !== undefined && data.alg !== jwkAlg("HMAC", hash)) throw domError("DataError", "importKey: the JWK's alg " + data.alg + " is not " + jwkAlg("HMAC", hash));
          if (data.ext === false && extractable) throw domError("DataError", "importKey: the JWK is not extractable");
          bytes = native.keyImport("HMAC", "jwk", JSON.stringify(data), "").der;
        } else {
          throw domError("NotSupportedError", "importKey: an HMAC key is imported raw or as a JWK, not " + format);
        }
        if (bytes.byteLength === 0) throw domError("DataError", "importKey: an empty key");
        return makeKey("secret", extractable, { name: "HMAC", hash: Object.freeze({ name: hash }), length: bytes.byteLength * 8 }, usages, bytes);
      }
      var curve = "";
      if (name === "ECDSA") {
        curve = String(alg.namedCurve);
        if (["P-256", "P-384", "P-521"].indexOf(curve) < 0) throw domError("NotSupportedError", "importKey: unsupported curve " + curve + "; P-256, P-384 and P-521 are");
      }
      if (name === "RSASSA-PKCS1-v1_5" || name === "RSA-PSS") hashName(alg.hash, "importKey");
      var input;
      if (format === "jwk") {
        if (!data || typeof data !== "object") throw new TypeError("importKey: a JWK is an object");
        var want = jwkAlg(name, name === "ECDSA" || name === "Ed25519" ? "" : hashName(alg.hash, "importKey"));
        if (want && data.alg !== undefined && data.alg !== want) throw domError("DataError", "importKey: the JWK's alg " + data.alg + " is not " + want);
        if (data.ext === false && extractable) throw domError("DataError", "importKey: the JWK is not extractable");
        input = JSON.stringify(data);
      } else if (format === "spki" || format === "pkcs8" || format === "raw") {
        input = copyBuffer(data);
      } else {
        throw domError("NotSupportedError", "importKey: unsupported format " + format);
      }
      var info = native.keyImport(name, format, input, curve);
      var type = info.private ? "private" : "public";
      usages = checkUsages(usages, info.private ? ["sign"] : ["verify"], "importKey", "a " + type + " key");
      if (info.private && usages.length === 0) throw domError("SyntaxError", "importKey: no usages");
      return makeKey(type, extractable, keyAlgorithm(name, alg, info), usages, info.der);
    },
    exportKey: async function (format, key) {
      if (!keyData.has(key)) throw new TypeError("exportKey: not a CryptoKey");
      if (!key.extractable) throw domError("InvalidAccessError", "exportKey: the key is not extractable");
      var data = keyData.get(key);
      var jwk;
      if (key.type === "secret") {
        if (format === "raw") return data.slice(0);
        if (format !== "jwk") throw domError("NotSupportedError", "exportKey: an HMAC key is exported raw or as a JWK, not " + format);
        jwk = { kty: "oct", k: b64url(data), alg: jwkAlg("HMAC", key.algorithm.hash.name) };
      } else if (format === "jwk") {
        jwk = JSON.parse(native.keyExportJWK(data, key.type === "private"));
        var alg = key.algorithm.hash ? jwkAlg(key.algorithm.name, key.algorithm.hash.name) : undefined;
        if (alg) jwk.alg = alg;
      } else if (format === (key.type === "private" ? "pkcs8" : "spki")) {
        return data.slice(0);
      } else if (format === "raw" && key.type === "public") {
        return native.keyExportRaw(data);
      } else {
        throw domError("InvalidAccessError", "exportKey: a " + key.type + " key cannot be exported as " + format);
      }
      jwk.key_ops = key.usages.slice();
      jwk.ext = true;
      return jwk;
    },
    generateKey: async function (alg, extractable, usages) {
      var name = algName(alg, "generateKey");
      if (name === "HMAC") {
        var hash = hashName(alg.hash, "generateKey");
        usages = checkUsages(usages, ["sign", "verify"], "generateKey", "an HMAC key");
        if (usages.length === 0) throw domError("SyntaxError", "generateKey: no usages");
        var bits = alg.length === undefined ? hmacBlockBits[hash] : Number(alg.length);
        if (!(bits > 0 && bits <= 8192 && bits % 8 === 0)) throw domError("OperationError", "generateKey: an HMAC key's length is a multiple of 8 up to 8192 bits");
        return makeKey("secret", extractable, { name: "HMAC", hash: Object.freeze({ name: hash }), length: bits }, usages, native.randomBytes(bits / 8));
      }
      usages = checkUsages(usages, ["sign", "verify"], "generateKey", "an " + name + " key pair");
      var curve = name === "ECDSA" ? String(alg.namedCurve) : "";
      var exponent = alg.publicExponent ? copyBuffer(alg.publicExponent) : new ArrayBuffer(0);
      var pair = native.keyGenerate(name, curve, Number(alg.modulusLength) || 0, exponent);
      var info = { curve: curve, bits: Number(alg.modulusLength) || 0, exponent: exponent };
      var privateUsages = usages.filter(function (u) { return u === "sign"; });
      if (privateUsages.length === 0) throw domError("SyntaxError", "generateKey: the private key would have no usages");
      var algorithm = keyAlgorithm(name, { hash: alg.hash }, info);
      return {
        publicKey: makeKey("public", true, algorithm, usages.filter(function (u) { return u === "verify"; }), pair.public),
        privateKey: makeKey("private", extractable, algorithm, privateUsages, pair.private),
      };
    },
    sign: async function (alg, key, data) {
      var name = algName(alg, "sign");
      checkKey(key, "sign", name, "sign");
      if (name === "HMAC") return native.hmac(key.algorithm.hash.name, keyData.get(key), copyBuffer(data));
      var p = signParams(name, alg, key, "sign");
      return native.keySign(name, p[0], keyData.get(key), copyBuffer(data), p[1]);
    },
    verify: async function (alg, key, signature, data) {
      var name = algName(alg, "verify");
      checkKey(key, "verify", name, "verify");
      if (name === "HMAC") {
        return native.hmacEqual(native.hmac(key.algorithm.hash.name, keyData.get(key), copyBuffer(data)), copyBuffer(signature));
      }
      var p = signParams(name, alg, key, "verify");
      return native.keyVerify(name, p[0], keyData.get(key), copyBuffer(signature), copyBuffer(data), p[1]);
    },
  };

  define("crypto", {
    subtle: subtle,
    getRandomValues: function (a) {
      if (!integerArrays.some(function (T) { return a instanceof T; })) {
        throw new TypeError("crypto.getRandomValues: expected an integer typed array");
      }
      if (a.byteLength > 65536) {
        var e = new Error("crypto.getRandomValues: at most 65536 bytes at a time");
        e.name = "QuotaExceededError";
        throw e;
      }
      native.randomFill(a.buffer, a.byteOffset, a.byteLength);
      return a;
    },
    randomUUID: function () { return native.randomUUID(); },
  });

  function invalidCharacter(msg) {
    var e = new Error(msg);
    e.name = "InvalidCharacterError";
    return e;
  }
  define("btoa", function (s) {
    s = String(s);
    var b = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c > 0xff) throw invalidCharacter("btoa: the string has a character outside Latin-1");
      b[i] = c;
    }
    return native.base64(b.buffer);
  });
  define("atob", function (s) {
    var b = native.unbase64(String(s));
    if (b === null) throw invalidCharacter("atob: the string is not valid base64");
    var u = new Uint8Array(b), out = "";
    for (var i = 0; i < u.length; i += 8192) {
      out += String.fromCharCode.apply(null, u.subarray(i, i + 8192));
    }
    return out;
  });
  define("queueMicrotask", function (fn) {
    if (typeof fn !== "function") throw new TypeError("queueMicrotask: expected a function");
    Promise.resolve().then(function () { fn(); });
  });

  // ---- structuredClone --------------------------------------------------

  // structuredClone copies what the HTML standard's structured clone
  // copies: primitives, plain objects and arrays (own enumerable string
  // keys), Date, RegExp, Map, Set, ArrayBuffer and its views, errors and
  // the wrappers of primitives, keeping shared and circular references.
  // Functions, symbols, promises, weak collections and the web API objects
  // above and below are refused with a DataCloneError. Transferring is not
  // supported: the engine cannot detach a buffer.
  function dataCloneError(what) {
    var e = new Error("structuredClone: " + what + " cannot be cloned");
    e.name = "DataCloneError";
    return e;
  }
  var viewTypes = integerArrays.concat([Float32Array, Float64Array, DataView]);
  var errorTypes = { Error: Error, EvalError: EvalError, RangeError: RangeError, ReferenceError: ReferenceError,
    SyntaxError: SyntaxError, TypeError: TypeError, URIError: URIError };
  // uncloneable are the classes whose instances are refused; the web API
  // classes are added as they are defined.
  var uncloneable = [Promise, WeakMap, WeakSet, TextEncoder, TextDecoder];
  if (typeof WeakRef === "function") uncloneable.push(WeakRef);
  function cloneInto(out, v, memo) {
    memo.set(v, out);
    for (var k of Object.keys(v)) out[k] = cloneValue(v[k], memo);
    return out;
  }
  function cloneValue(v, memo) {
    var t = typeof v;
    if (t === "function") throw dataCloneError("a function" + (v.name ? " (" + v.name + ")" : ""));
    if (t === "symbol") throw dataCloneError("a symbol");
    if (t !== "object" || v === null) return v;
    if (memo.has(v)) return memo.get(v);
    var out;
    if (v instanceof Boolean) out = new Boolean(v.valueOf());
    else if (v instanceof Number) out = new Number(v.valueOf());
    else if (v instanceof String) out = new String(v.valueOf());
    else if (typeof BigInt === "function" && v instanceof BigInt) out = Object(v.valueOf());
    else if (v instanceof Date) out = new Date(v.getTime());
    else if (v instanceof RegExp) out = new RegExp(v.source, v.flags);
    else if (v instanceof ArrayBuffer) out = v.slice(0);
    else if (ArrayBuffer.isView(v)) {
      var T = viewTypes.find(function (T) { return v instanceof T; });
      var buf = cloneValue(v.buffer, memo);
      out = T === DataView ? new DataView(buf, v.byteOffset, v.byteLength) : new T(buf, v.byteOffset, v.length);
    } else if (v instanceof Map) {
      out = new Map();
      memo.set(v, out);
      for (var e of v) out.set(cloneValue(e[0], memo), cloneValue(e[1], memo));
      return out;
    } else if (v instanceof Set) {
      out = new Set();
      memo.set(v, out);
      for (var m of v) out.add(cloneValue(m, memo));
      return out;
    } else if (v instanceof Error) {
      var name = String(v.name);
      var E = Object.prototype.hasOwnProperty.call(errorTypes, name) ? errorTypes[name] : Error;
      out = new E(v.message === undefined ? "" : String(v.message));
      memo.set(v, out);
      if (typeof v.stack === "string") Object.defineProperty(out, "stack", { value: v.stack, writable: true, configurable: true });
      if (Object.prototype.hasOwnProperty.call(v, "cause")) {
        Object.defineProperty(out, "cause", { value: cloneValue(v.cause, memo), writable: true, configurable: true });
      }
      return out;
    } else if (Array.isArray(v)) {
      return cloneInto(new Array(v.length), v, memo);
    } else {
      for (var U of uncloneable) {
        if (v instanceof U) throw dataCloneError("a " + (U.name || "platform object"));
      }
      return cloneInto({}, v, memo);
    }
    memo.set(v, out);
    return out;
  }
  define("structuredClone", function structuredClone(value, options) {
    if (arguments.length === 0) throw new TypeError("structuredClone: a value is required");
    if (options !== undefined && options !== null && options.transfer !== undefined &&
        Array.from(options.transfer).length > 0) {
      throw dataCloneError("a transfer list (transferring is not supported)");
    }
    return cloneValue(value, new Map());
  });

  // ---- Headers ----------------------------------------------------------

  var token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  // headerName and headerValue check in Go: regular expressions are slow
  // in the engine, and every header set goes through them.
  function headerName(n) {
    n = native.headerName(String(n));
    if (n === null) throw new TypeError("invalid header name");
    return n;
  }
  function headerValue(v) {
    v = native.headerValue(String(v));
    if (v === null) throw new TypeError("invalid header value");
    return v;
  }
  // The helpers below take a name already checked: the engine's own
  // callers pass constants, and plain loops cost less than callbacks in
  // the hot paths every call goes through (Response, takeResponse).
  function indexOf(list, name) {
    for (var i = 0; i < list.length; i++) if (list[i][0] === name) return i;
    return -1;
  }
  function joinValues(list, name) {
    var v = null;
    for (var i = 0; i < list.length; i++) {
      if (list[i][0] === name) v = v === null ? list[i][1] : v + ", " + list[i][1];
    }
    return v;
  }
  function setValue(h, name, value) {
    var list = h._list, i = indexOf(list, name);
    if (i < 0) { list.push([name, value]); return; }
    list[i][1] = value;
    for (var j = i + 1; j < list.length; j++) {
      if (list[j][0] === name) { h._list = list.filter(function (p, k) { return k <= i || p[0] !== name; }); return; }
    }
  }
  // emptyHeaders returns new Headers without running the constructor.
  function emptyHeaders() {
    var h = Object.create(Headers.prototype);
    h._list = [];
    return h;
  }
  class Headers {
    constructor(init) {
      this._list = []; // [lower-case name, value], in the order added
      if (init === undefined || init === null) return;
      if (init instanceof Headers) {
        this._list = init._list.map(function (p) { return [p[0], p[1]]; });
      } else if (typeof init[Symbol.iterator] === "function") {
        for (var pair of init) {
          pair = Array.from(pair);
          if (pair.length !== 2) throw new TypeError("Headers: each entry must be a [name, value] pair");
          this.append(pair[0], pair[1]);
        }
      } else if (typeof init === "object") {
        var keys = Object.keys(init);
        for (var i = 0; i < keys.length; i++) this.append(keys[i], init[keys[i]]);
      } else {
        throw new TypeError("Headers: invalid init");
      }
    }
    append(name, value) { this._list.push([headerName(name), headerValue(value)]); }
    delete(name) { name = headerName(name); this._list = this._list.filter(function (p) { return p[0] !== name; }); }
    get(name) { return joinValues(this._list, headerName(name)); }
    getSetCookie() {
      var vals = [];
      for (var p of this._list) if (p[0] === "set-cookie") vals.push(p[1]);
      return vals;
    }
    has(name) { return indexOf(this._list, headerName(name)) >= 0; }
    set(name, value) { setValue(this, headerName(name), headerValue(value)); }
    // Iteration is sorted by name, with the values of a name combined,
    // except set-cookie, as the Fetch standard says.
    *entries() {
      var names = Array.from(new Set(this._list.map(function (p) { return p[0]; }))).sort();
      for (var n of names) {
        if (n === "set-cookie") {
          for (var c of this.getSetCookie()) yield [n, c];
        } else {
          yield [n, this.get(n)];
        }
      }
    }
    *keys() { for (var e of this.entries()) yield e[0]; }
    *values() { for (var e of this.entries()) yield e[1]; }
    forEach(fn, thisArg) { for (var e of this.entries()) fn.call(thisArg, e[1], e[0], this); }
    [Symbol.iterator]() { return this.entries(); }
    get [Symbol.toStringTag]() { return "Headers"; }
  }
  define("Headers", Headers);
  uncloneable.push(Headers);

  // ---- URLSearchParams and URL ------------------------------------------

  function formDecode(s) {
    if (s.indexOf("%") < 0 && s.indexOf("+") < 0) return s;
    s = s.split("+").join(" ");
    try { return decodeURIComponent(s); } catch (e) { return native.percentDecode(s); }
  }
  function formEncode(s) {
    return encodeURIComponent(s).replace(/%20/g, "+").replace(/[!'()~]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  class URLSearchParams {
    constructor(init) {
      this._list = [];
      this._url = null;
      if (init === undefined || init === null) return;
      if (init instanceof URLSearchParams) {
        this._list = init._list.map(function (p) { return [p[0], p[1]]; });
      } else if (typeof init === "object" && typeof init[Symbol.iterator] === "function") {
        for (var pair of init) {
          pair = Array.from(pair);
          if (pair.length !== 2) throw new TypeError("URLSearchParams: each entry must be a [name, value] pair");
          this._list.push([String(pair[0]), String(pair[1])]);
        }
      } else if (typeof init === "object") {
        for (var k of Object.keys(init)) this._list.push([k, String(init[k])]);
      } else {
        this._parse(String(init));
      }
    }
    _parse(s) {
      this._list = [];
      if (s.charAt(0) === "?") s = s.slice(1);
      var parts = s.split("&");
      for (var j = 0; j < parts.length; j++) {
        var part = parts[j];
        if (part === "") continue;
        var i = part.indexOf("=");
        var k = i < 0 ? part : part.slice(0, i);
        var v = i < 0 ? "" : part.slice(i + 1);
        this._list.push([formDecode(k), formDecode(v)]);
      }
    }
    _update() { if (this._url) this._url._setSearch(this.toString()); }
    get size() { return this._list.length; }
    append(k, v) { this._list.push([String(k), String(v)]); this._update(); }
    delete(k) { k = String(k); this._list = this._list.filter(function (p) { return p[0] !== k; }); this._update(); }
    get(k) {
      k = String(k);
      for (var i = 0; i < this._list.length; i++) if (this._list[i][0] === k) return this._list[i][1];
      return null;
    }
    getAll(k) { k = String(k); return this._list.filter(function (p) { return p[0] === k; }).map(function (p) { return p[1]; }); }
    has(k) { return indexOf(this._list, String(k)) >= 0; }
    set(k, v) {
      k = String(k); v = String(v);
      var i = this._list.findIndex(function (p) { return p[0] === k; });
      if (i < 0) this._list.push([k, v]);
      else {
        this._list[i][1] = v;
        this._list = this._list.filter(function (p, j) { return j <= i || p[0] !== k; });
      }
      this._update();
    }
    sort() { this._list.sort(function (a, b) { return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0; }); this._update(); }
    *entries() { for (var p of this._list.slice()) yield [p[0], p[1]]; }
    *keys() { for (var p of this._list.slice()) yield p[0]; }
    *values() { for (var p of this._list.slice()) yield p[1]; }
    forEach(fn, thisArg) { for (var p of this._list.slice()) fn.call(thisArg, p[1], p[0], this); }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this._list.map(function (p) { return formEncode(p[0]) + "=" + formEncode(p[1]); }).join("&"); }
    get [Symbol.toStringTag]() { return "URLSearchParams"; }
  }
  define("URLSearchParams", URLSearchParams);
  uncloneable.push(URLSearchParams);

  // URL parses with Go's net/url and normalises as it does; it is a
  // subset of the WHATWG URL standard (see docs/JAVASCRIPT.md).
  class URL {
    constructor(url, base) {
      var parts = native.parseURL(String(url), base === undefined ? undefined : String(base));
      if (typeof parts === "string") throw new TypeError("Invalid URL: " + parts);
      this._p = parts; // protocol, username, password, hostname, port, pathname, search, hash
      this._sp = new URLSearchParams(parts.search);
      this._sp._url = this;
    }
    static canParse(url, base) {
      return typeof native.parseURL(String(url), base === undefined ? undefined : String(base)) !== "string";
    }
    _setSearch(s) { this._p.search = s ? "?" + s : ""; }
    get protocol() { return this._p.protocol; }
    get username() { return this._p.username; }
    get password() { return this._p.password; }
    get hostname() { return this._p.hostname; }
    get port() { return this._p.port; }
    get host() { return this._p.hostname + (this._p.port ? ":" + this._p.port : ""); }
    get origin() {
      var p = this._p.protocol;
      if (p === "http:" || p === "https:" || p === "ws:" || p === "wss:") return p + "//" + this.host;
      return "null";
    }
    get pathname() { return this._p.pathname; }
    set pathname(v) { v = String(v); this._p.pathname = v.charAt(0) === "/" ? v : "/" + v; }
    get search() { return this._p.search; }
    set search(v) {
      v = String(v);
      if (v.charAt(0) === "?") v = v.slice(1);
      this._p.search = v ? "?" + v : "";
      this._sp._list = new URLSearchParams(v)._list;
    }
    get searchParams() { return this._sp; }
    get hash() { return this._p.hash; }
    set hash(v) { v = String(v); if (v.charAt(0) === "#") v = v.slice(1); this._p.hash = v ? "#" + v : ""; }
    get href() {
      var p = this._p, auth = "";
      if (p.username || p.password) auth = p.username + (p.password ? ":" + p.password : "") + "@";
      var authority = p.special || this.host ? "//" + auth + this.host : "";
      return p.protocol + authority + p.pathname + p.search + p.hash;
    }
    toString() { return this.href; }
    toJSON() { return this.href; }
    get [Symbol.toStringTag]() { return "URL"; }
  }
  define("URL", URL);
  uncloneable.push(URL);

  // ---- Bodies, Request and Response --------------------------------------

  // bodyInit turns a body given to Request or Response into bytes and the
  // content type it implies.
  function bodyInit(body) {
    if (body === undefined || body === null) return { bytes: null, type: null };
    if (typeof body === "string") return { bytes: native.encode(body), type: "text/plain;charset=UTF-8" };
    if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return { bytes: copyBuffer(body), type: null };
    if (body instanceof URLSearchParams) {
      return { bytes: native.encode(body.toString()), type: "application/x-www-form-urlencoded;charset=UTF-8" };
    }
    if (typeof body === "object" && typeof body.getReader === "function") {
      throw new TypeError("streaming bodies are not supported yet; pass a string, an ArrayBuffer or a typed array");
    }
    return { bytes: native.encode(String(body)), type: "text/plain;charset=UTF-8" };
  }

  var empty = new ArrayBuffer(0);
  function Body() {}
  Body.prototype._take = function () {
    if (this._used) throw new TypeError("body already used");
    if (this._bytes !== null) this._used = true;
    return this._bytes === null ? empty : this._bytes;
  };
  Object.defineProperty(Body.prototype, "bodyUsed", { get: function () { return !!this._used; } });
  Object.defineProperty(Body.prototype, "body", {
    get: function () { return this._bytes === null ? null : new Uint8Array(this._bytes); },
  });
  Body.prototype.arrayBuffer = function () {
    try { return Promise.resolve(this._take().slice(0)); } catch (e) { return Promise.reject(e); }
  };
  Body.prototype.bytes = function () {
    try { return Promise.resolve(new Uint8Array(this._take().slice(0))); } catch (e) { return Promise.reject(e); }
  };
  Body.prototype.text = function () {
    try { return Promise.resolve(native.decode(this._take(), false)); } catch (e) { return Promise.reject(e); }
  };
  Body.prototype.json = function () {
    try { return Promise.resolve(JSON.parse(native.decode(this._take(), false))); } catch (e) { return Promise.reject(e); }
  };

  var methods = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"];
  class Request {
    constructor(input, init) {
      init = init || {};
      var src = input instanceof Request ? input : null;
      this._url = src ? src._url : new URL(String(input)).href;
      var m = init.method !== undefined ? String(init.method) : src ? src.method : "GET";
      if (!token.test(m)) throw new TypeError("invalid method: " + JSON.stringify(m));
      this._method = methods.indexOf(m.toUpperCase()) >= 0 ? m.toUpperCase() : m;
      this._headers = new Headers(init.headers !== undefined ? init.headers : src ? src._headers : undefined);
      var b;
      if (init.body !== undefined) b = bodyInit(init.body);
      else if (src) b = { bytes: src._bytes === null ? null : src._take(), type: null };
      else b = { bytes: null, type: null };
      if (b.bytes !== null && (this._method === "GET" || this._method === "HEAD")) {
        throw new TypeError("a " + this._method + " request cannot have a body");
      }
      if (b.type && !this._headers.has("content-type")) this._headers.set("content-type", b.type);
      this._bytes = b.bytes;
      this._used = false;
      this.params = src ? src.params : {};
      this.route = src ? src.route : "";
      this.caller = src ? src.caller : "";
      this.requestId = src ? src.requestId : "";
    }
    get method() { return this._method; }
    get url() { return this._url; }
    get headers() { return this._headers; }
    // pave's own, for a call from the host's queue (docs/JAVASCRIPT.md):
    // its id, the CloudEvent a topic trigger delivered, a schedule's tick.
    get callId() { return this._queued && this._queued.callId || null; }
    get event() { return this._queued && this._queued.event || null; }
    get scheduledAt() {
      var t = this._queued && this._queued.scheduledAt;
      return t ? new Date(t.getTime()) : null;
    }
    clone() {
      if (this._used) throw new TypeError("body already used");
      var r = new Request(this._url, { method: this._method, headers: this._headers });
      r._bytes = this._bytes;
      r.params = this.params;
      r._queued = this._queued;
      r.route = this.route;
      r.caller = this.caller;
      r.requestId = this.requestId;
      return r;
    }
    get [Symbol.toStringTag]() { return "Request"; }
  }
  Object.setPrototypeOf(Request.prototype, Body.prototype);
  define("Request", Request);
  uncloneable.push(Request);

  class Response {
    constructor(body, init) {
      var status = 200, statusText = "", headers;
      if (init === undefined || init === null) {
        headers = emptyHeaders();
      } else {
        status = init.status === undefined ? 200 : Number(init.status);
        if (!Number.isInteger(status) || status < 200 || status > 599) {
          throw new RangeError("Response status must be an integer from 200 to 599, not " + init.status);
        }
        if (init.statusText !== undefined) statusText = String(init.statusText);
        headers = init.headers === undefined ? emptyHeaders() : new Headers(init.headers);
      }
      this._status = status;
      this._statusText = statusText;
      this._headers = headers;
      var bytes, type;
      if (typeof body === "string") { // the common case, without bodyInit's object
        bytes = native.encode(body);
        type = "text/plain;charset=UTF-8";
      } else {
        var b = bodyInit(body);
        bytes = b.bytes;
        type = b.type;
      }
      if (bytes !== null && (status === 204 || status === 205 || status === 304)) {
        throw new TypeError("a response with status " + status + " cannot have a body");
      }
      if (type && indexOf(this._headers._list, "content-type") < 0) this._headers._list.push(["content-type", type]);
      this._bytes = bytes;
      this._used = false;
    }
    static json(data, init) {
      var s = JSON.stringify(data);
      if (s === undefined) throw new TypeError("Response.json: the value cannot be serialised as JSON");
      var r = new Response(s, init);
      var given = init && init.headers ? joinValues(new Headers(init.headers)._list, "content-type") : null;
      setValue(r._headers, "content-type", given === null ? "application/json" : given);
      return r;
    }
    static redirect(url, status) {
      status = status === undefined ? 302 : status;
      if ([301, 302, 303, 307, 308].indexOf(status) < 0) throw new RangeError("invalid redirect status " + status);
      var r = new Response(null, { status: status });
      r._headers.set("location", new URL(String(url)).href);
      return r;
    }
    static error() { throw new TypeError("Response.error() is not supported"); }
    get status() { return this._status; }
    get statusText() { return this._statusText; }
    get ok() { return this._status >= 200 && this._status < 300; }
    get headers() { return this._headers; }
    get type() { return "default"; }
    get redirected() { return false; }
    get url() { return this._url || ""; }
    clone() {
      if (this._used) throw new TypeError("body already used");
      var r = new Response(null, { status: this._status, statusText: this._statusText, headers: this._headers });
      r._bytes = this._bytes;
      return r;
    }
    get [Symbol.toStringTag]() { return "Response"; }
  }
  Object.setPrototypeOf(Response.prototype, Body.prototype);
  define("Response", Response);
  uncloneable.push(Response);

  // ---- the engine's side -------------------------------------------------

  // makeRequest fills in the Request of an invocation. The object and its
  // Headers are built here, at initialisation, and each invocation sets
  // every property of theirs: adding properties to a new object costs
  // several times as much in the engine. Nothing of one invocation
  // reaches the next: every invocation starts from the snapshot, in which
  // these hold what they are given here.
  var invocation = Object.create(Request.prototype), invocationHeaders = emptyHeaders();
  native.makeRequest = function (method, url, headers, body, params, route, caller, requestId, queued) {
    var r = invocation;
    r._method = method;
    r._url = url;
    var h = invocationHeaders;
    h._list = [];
    for (var i = 0; i < headers.length; i += 2) h._list.push([headers[i].toLowerCase(), headers[i + 1]]);
    r._headers = h;
    r._bytes = body.byteLength === 0 && (method === "GET" || method === "HEAD") ? null : body;
    r._used = false;
    r.params = params;
    r._queued = queued;
    r.route = route;
    r.caller = caller;
    r.requestId = requestId;
    return r;
  };
  native.makeRequest("GET", "http://localhost/", [], empty, {}, "", "", "", null);

  // outbound returns what fetch(input, init) sends, checked and converted
  // as Request's constructor does it: [method, absolute URL, flattened
  // header pairs, body (an ArrayBuffer, or null)]. For env.invoke
  // (forInvoke), input is a path with an optional query, "/" by default,
  // or a Request, and the method is POST unless init or the Request says.
  var invokeBase = "http://function.invalid";
  native.outbound = function (input, init, forInvoke) {
    if (forInvoke && !(input instanceof Request)) {
      input = new URL(input === undefined ? "/" : String(input), invokeBase).href;
      if (init === undefined || init === null || init.method === undefined) init = Object.assign({}, init, { method: "POST" });
    }
    var r = new Request(input, init);
    var pairs = [];
    for (var i = 0, list = r._headers._list; i < list.length; i++) pairs.push(list[i][0], list[i][1]);
    return [r._method, r._url, pairs, r._bytes];
  };

  // eventData returns the bytes env.publish sends for data: a string, an
  // ArrayBuffer or a typed array as it is, anything else as its JSON.
  native.eventData = function (data) {
    if (data === undefined) return empty;
    if (typeof data === "string" || data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return bodyInit(data).bytes;
    var s = JSON.stringify(data);
    if (s === undefined) throw new TypeError("env.publish: the data cannot be serialised as JSON");
    return native.encode(s);
  };

  // inbound returns the Response of fetch or env.invoke.
  native.inbound = function (status, headers, body, url) {
    var r = Object.create(Response.prototype);
    r._status = status;
    r._statusText = "";
    var h = Object.create(Headers.prototype);
    h._list = [];
    for (var i = 0; i < headers.length; i += 2) h._list.push([headers[i].toLowerCase(), headers[i + 1]]);
    r._headers = h;
    r._bytes = body;
    r._used = false;
    r._url = url;
    return r;
  };

  // takeResponse returns the status, flattened header pairs and body of
  // what fetch returned, which must be a Response.
  native.takeResponse = function (r) {
    if (!(r instanceof Response)) {
      throw new TypeError("fetch must return a Response (or a promise of one), not " + inspect(r));
    }
    var pairs = [];
    for (var i = 0, list = r._headers._list; i < list.length; i++) pairs.push(list[i][0], list[i][1]);
    return [r._status, pairs, r._bytes === null ? empty : r._bytes];
  };

  // ---- built-ins made ahead --------------------------------------------

  // The engine makes a built-in (a global, a prototype's method) the first
  // time it is read, and every call starts from the snapshot: one made
  // during a call is made again in every call, at thousands of
  // instructions each. Reading the property descriptors of the global
  // object, of what it holds (constructors, namespaces such as Math) and
  // of what those hold (prototypes, static methods), which calls no
  // getter, makes the globals, static methods and prototype methods before
  // the snapshot. It goes no deeper, and leaves the properties named by
  // symbols to be made when read: making those too (the functions' own
  // name and length, Symbol.iterator and the like) made the calls of
  // examples/hello-ts two to three times slower instead.
  (function makeAll(o, seen, depth) {
    if (depth > 2 || o === null || (typeof o !== "object" && typeof o !== "function") || seen.has(o)) return;
    seen.add(o);
    var keys = Object.getOwnPropertyNames(o);
    for (var i = 0; i < keys.length; i++) {
      var d = Object.getOwnPropertyDescriptor(o, keys[i]);
      makeAll(d.value, seen, depth + 1);
      makeAll(d.get, seen, depth + 1);
      makeAll(d.set, seen, depth + 1);
    }
    makeAll(Object.getPrototypeOf(o), seen, depth + 1);
  })(global, new Set(), 0);
})(globalThis, __pave_native);

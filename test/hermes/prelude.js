/*
 * The globals a React Native app has and the bare Hermes CLI lacks, installed before the bundle
 * as React Native's InitializeCore does. Plain ES5 so Hermes runs it as is.
 *
 * - console: RN routes it to the native log; here to Hermes's `print`.
 * - queueMicrotask: RN's own implementation (Libraries/Core/Timers/queueMicrotask.js), a
 *   resolved promise's then.
 * - AbortController / AbortSignal: RN installs the `abort-controller` package; a minimal model
 *   of its behaviour (aborted, reason, abort event, onabort).
 * - crypto.getRandomValues: the shape react-native-get-random-values installs. TEST ONLY: the
 *   bytes come from a SEEDED DETERMINISTIC xorshift generator so runs repeat; the real polyfill
 *   calls the platform's secure generator (SecRandomCopyBytes / SecureRandom).
 * TextEncoder and TextDecoder are deliberately NOT provided: Hermes before RN 0.85 has neither.
 */
(function (g) {
  function show(args) {
    var out = [];
    for (var i = 0; i < args.length; i++) out.push(typeof args[i] === 'string' ? args[i] : String(args[i]));
    return out.join(' ');
  }
  var log = function () { print(show(arguments)); };
  g.console = { log: log, info: log, warn: log, error: log, debug: function () {} };

  var resolved = null;
  g.queueMicrotask = function (callback) {
    (resolved || (resolved = Promise.resolve())).then(callback).catch(function (error) {
      setTimeout(function () { throw error; }, 0);
    });
  };

  function AbortSignal() {
    this.aborted = false;
    this.reason = undefined;
    this.onabort = null;
    this._listeners = [];
  }
  AbortSignal.prototype.addEventListener = function (type, fn) {
    if (type === 'abort') this._listeners.push(fn);
  };
  AbortSignal.prototype.removeEventListener = function (type, fn) {
    if (type === 'abort') this._listeners = this._listeners.filter(function (f) { return f !== fn; });
  };
  function AbortController() {
    this.signal = new AbortSignal();
  }
  AbortController.prototype.abort = function (reason) {
    var s = this.signal;
    if (s.aborted) return;
    s.aborted = true;
    s.reason = reason === undefined ? new Error('AbortError') : reason;
    var event = { type: 'abort', target: s };
    var listeners = s._listeners.slice();
    if (typeof s.onabort === 'function') s.onabort(event);
    for (var i = 0; i < listeners.length; i++) listeners[i].call(s, event);
  };
  g.AbortSignal = AbortSignal;
  g.AbortController = AbortController;

  var state = 0x2545f491;
  g.crypto = {
    getRandomValues: function (array) {
      var bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
      for (var i = 0; i < bytes.length; i++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        bytes[i] = state & 0xff;
      }
      return array;
    },
  };
})(globalThis);

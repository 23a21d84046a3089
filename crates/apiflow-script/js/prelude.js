// Postman's scripting API (`pm`, `postman` and the legacy globals) over the state of one
// script, as apiflow's sandbox gives it. Evaluated once per sandbox; `__apiflow_run` then runs
// each script and hands back what it did as JSON.
(function (global) {
  'use strict';

  var loadLibrary = global.__apiflow_load;
  var randomBytes = global.__apiflow_random;
  delete global.__apiflow_load;
  delete global.__apiflow_random;

  var LIBRARIES = ['ajv', 'atob', 'btoa', 'chai', 'crypto-js', 'lodash', 'moment', 'tv4', 'uuid'];
  var cache = {};
  // The names each scope has set during this run, for `clear()`.
  var scopeNames = { environment: {}, collectionVariables: {}, globals: {}, variables: {} };
  var state = null;
  // How many libraries are being loaded: a library that looks for globals of its own (lodash
  // reads `_`) must not load itself through the lazy globals below.
  var loading = 0;

  var sandboxCrypto = {
    getRandomValues: function (array) {
      var bytes = randomBytes(array.length * (array.BYTES_PER_ELEMENT || 1));
      var view = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
      for (var i = 0; i < view.length; i++) view[i] = bytes[i];
      return array;
    }
  };

  function require(name) {
    name = String(name);
    if (Object.prototype.hasOwnProperty.call(cache, name)) return cache[name];
    if (name === 'atob') return (cache[name] = atob);
    if (name === 'btoa') return (cache[name] = btoa);
    if (LIBRARIES.indexOf(name) < 0) {
      throw new Error('require(\'' + name + '\'): the library `' + name +
        '` is not provided by apiflow\'s sandbox; the libraries are ' + LIBRARIES.join(', '));
    }
    var module = { exports: {} };
    loading += 1;
    try {
      loadLibrary(name).call(global, module, module.exports, require, sandboxCrypto, undefined);
    } finally {
      loading -= 1;
    }
    cache[name] = module.exports;
    return module.exports;
  }

  var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

  function btoa(input) {
    var text = String(input);
    var out = '';
    for (var i = 0; i < text.length; i += 3) {
      var a = text.charCodeAt(i), b = text.charCodeAt(i + 1), c = text.charCodeAt(i + 2);
      if (a > 255 || b > 255 || c > 255) {
        throw new Error('btoa: the text holds a character outside Latin-1');
      }
      var n = (a << 16) | ((b || 0) << 8) | (c || 0);
      out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] +
        (i + 1 < text.length ? B64[(n >> 6) & 63] : '=') +
        (i + 2 < text.length ? B64[n & 63] : '=');
    }
    return out;
  }

  function atob(input) {
    var text = String(input).replace(/[\t\n\f\r ]/g, '').replace(/=+$/, '');
    if (text.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(text)) {
      throw new Error('atob: the text is not valid Base64');
    }
    var out = '';
    var bits = 0, count = 0;
    for (var i = 0; i < text.length; i++) {
      bits = (bits << 6) | B64.indexOf(text[i]);
      count += 6;
      if (count >= 8) {
        count -= 8;
        out += String.fromCharCode((bits >> count) & 255);
      }
    }
    return out;
  }

  function AssertionError(message) {
    this.name = 'AssertionError';
    this.message = message;
  }
  AssertionError.prototype = Object.create(Error.prototype);
  AssertionError.prototype.constructor = AssertionError;

  function describe(value) {
    if (typeof value === 'string') return value;
    if (value instanceof Error) return value.name + ': ' + value.message;
    if (value === undefined) return 'undefined';
    if (typeof value === 'function') return '[Function' + (value.name ? ': ' + value.name : '') + ']';
    try {
      var json = JSON.stringify(value);
      return json === undefined ? String(value) : json;
    } catch (e) {
      return String(value);
    }
  }

  function messageOf(error) {
    if (error && typeof error === 'object' && 'message' in error) {
      var name = error.name || 'Error';
      return name + ': ' + error.message;
    }
    return describe(error);
  }

  // The line and column inside the script of the first frame that is the script's own.
  function locate(error) {
    var stack = error && typeof error === 'object' ? String(error.stack || '') : '';
    var match = /<input>:(\d+):(\d+)/.exec(stack);
    if (!match) return null;
    // The `Function` constructor puts two lines before the body.
    return { line: Number(match[1]) - 2, column: Number(match[2]) };
  }

  function own(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
  }

  // Variables: one store, read and written by every scope.
  function readVar(name) {
    name = String(name);
    if (!own(state.vars, name)) return undefined;
    if (state.secrets[name]) state.readSecret = true;
    return state.vars[name];
  }

  function writeVar(scope, name, value) {
    name = String(name);
    if (value === undefined) value = null;
    if (typeof value === 'function') value = String(value);
    state.vars[name] = value;
    scopeNames[scope][name] = true;
    state.changes.push({ op: 'set', scope: scope, name: name, value: value });
  }

  function unsetVar(scope, name) {
    name = String(name);
    delete state.vars[name];
    delete scopeNames[scope][name];
    state.changes.push({ op: 'unset', scope: scope, name: name });
  }

  function allVars() {
    var out = {};
    Object.keys(state.vars).forEach(function (name) {
      if (state.secrets[name]) state.readSecret = true;
      out[name] = state.vars[name];
    });
    return out;
  }

  function dynamic(name) {
    switch (name) {
      case '$guid':
      case '$randomUUID':
        return require('uuid').v4();
      case '$timestamp':
        return String(Math.floor(Date.now() / 1000));
      case '$isoTimestamp':
        return new Date().toISOString();
      case '$randomInt':
        return String(Math.floor(Math.random() * 1001));
      default:
        return undefined;
    }
  }

  function replaceIn(template) {
    return String(template).replace(/\{\{([^{}]+)\}\}/g, function (whole, name) {
      var value = name.charAt(0) === '$' ? dynamic(name) : readVar(name);
      if (value === undefined) return whole;
      return typeof value === 'string' ? value : describe(value);
    });
  }

  function scope(name) {
    return {
      get: readVar,
      set: function (key, value) { writeVar(name, key, value); },
      unset: function (key) { unsetVar(name, key); },
      has: function (key) { return own(state.vars, String(key)); },
      clear: function () {
        Object.keys(scopeNames[name]).forEach(function (key) { unsetVar(name, key); });
      },
      toObject: allVars,
      toJSON: allVars,
      replaceIn: replaceIn
    };
  }

  // A list of key-value pairs looked up without regard to case, like Postman's PropertyList of
  // headers and cookies.
  function pairList(pairs, onRead) {
    function find(key) {
      key = String(key).toLowerCase();
      for (var i = 0; i < pairs.length; i++) {
        if (pairs[i].key.toLowerCase() === key) return pairs[i];
      }
      return undefined;
    }
    var list = {
      get: function (key) { onRead(); var found = find(key); return found && found.value; },
      has: function (key, value) {
        onRead();
        var found = find(key);
        return !!found && (arguments.length < 2 || found.value === value);
      },
      one: function (key) { onRead(); var found = find(key); return found && { key: found.key, value: found.value }; },
      all: function () { onRead(); return pairs.map(function (p) { return { key: p.key, value: p.value }; }); },
      count: function () { return pairs.length; },
      each: function (fn) { onRead(); pairs.forEach(function (p) { fn({ key: p.key, value: p.value }); }); },
      toObject: function () {
        onRead();
        var out = {};
        pairs.forEach(function (p) { out[p.key] = p.value; });
        return out;
      }
    };
    list.toJSON = list.all;
    return list;
  }

  function requestHeaders(request) {
    var list = pairList(request.headers, function () {});
    function entry(key, value) {
      if (key && typeof key === 'object') return { key: String(key.key), value: String(key.value) };
      return { key: String(key), value: String(value) };
    }
    function remove(key) {
      key = String(key).toLowerCase();
      for (var i = request.headers.length - 1; i >= 0; i--) {
        if (request.headers[i].key.toLowerCase() === key) request.headers.splice(i, 1);
      }
    }
    list.add = function (key, value) { request.headers.push(entry(key, value)); };
    list.upsert = function (key, value) {
      var header = entry(key, value);
      remove(header.key);
      request.headers.push(header);
    };
    list.remove = function (key) { remove(key && typeof key === 'object' ? key.key : key); };
    return list;
  }

  function makeRequest(request) {
    var url = {
      toString: function () { return request.url; },
      getHost: function () { var m = /^[a-z]+:\/\/([^/:?#]*)/i.exec(request.url); return m ? m[1] : ''; },
      getPath: function () { var m = /^[a-z]+:\/\/[^/?#]*([^?#]*)/i.exec(request.url); return (m && m[1]) || '/'; },
      getQueryString: function () { var m = /\?([^#]*)/.exec(request.url); return m ? m[1] : ''; }
    };
    return {
      get url() { return url; },
      set url(value) { request.url = String(value); },
      get method() { return request.method; },
      set method(value) { request.method = String(value).toUpperCase(); },
      headers: requestHeaders(request),
      addHeader: function (header) { this.headers.add(header); },
      removeHeader: function (key) { this.headers.remove(key); },
      upsertHeader: function (header) { this.headers.upsert(header); },
      toJSON: function () { return { url: request.url, method: request.method, header: request.headers }; }
    };
  }

  function deepEqual(a, b) {
    if (a === b) return true;
    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    var ka = Object.keys(a), kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    return ka.every(function (k) { return own(b, k) && deepEqual(a[k], b[k]); });
  }

  function pathGet(value, path) {
    var parts = String(path).replace(/\[(\w+)\]/g, '.$1').split('.').filter(Boolean);
    for (var i = 0; i < parts.length; i++) {
      if (value === null || typeof value !== 'object' || !own(value, parts[i])) return undefined;
      value = value[parts[i]];
    }
    return value;
  }

  // `pm.response.to…`: the assertions Postman's chai plugin defines on a response.
  function responseAssertion(response, negate) {
    function check(ok, message, negated) {
      if (negate ? ok : !ok) throw new AssertionError(negate ? negated : message);
    }
    function classOf(low, high, what) {
      var code = response.code;
      check(code >= low && code <= high,
        'expected response code to be ' + what + ' but found ' + code,
        'expected response code not to be ' + what + ' but found ' + code);
    }
    function exactly(code) {
      return function () {
        check(response.code === code,
          'expected response to have status code ' + code + ' but got ' + response.code,
          'expected response not to have status code ' + code + ' but got ' + response.code);
      };
    }
    var a = {};
    var chain = {
      status: function (expected) {
        if (typeof expected === 'number') {
          exactly(expected)();
        } else {
          check(response.status === String(expected),
            'expected response to have status reason \'' + expected + '\' but got \'' + response.status + '\'',
            'expected response not to have status reason \'' + expected + '\'');
        }
      },
      header: function (key, value) {
        var has = arguments.length < 2 ? response.headers.has(key) : response.headers.has(key, value);
        check(has,
          arguments.length < 2 ? 'expected response to have header with key \'' + key + '\''
            : 'expected \'' + key + '\' response header to be \'' + value + '\' but got \'' + response.headers.get(key) + '\'',
          'expected response not to have header with key \'' + key + '\'');
      },
      body: function (expected) {
        var text = response.text();
        if (arguments.length === 0) {
          check(text.length > 0, 'expected response to have content in body', 'expected response to not have content in body');
        } else if (expected instanceof RegExp) {
          check(expected.test(text), 'expected response body to match ' + expected, 'expected response body not to match ' + expected);
        } else if (typeof expected === 'string') {
          check(text === expected, 'expected response body to equal \'' + expected + '\' but got \'' + text + '\'',
            'expected response body not to equal \'' + expected + '\'');
        } else {
          var parsed;
          try { parsed = JSON.parse(text); } catch (e) { parsed = undefined; }
          check(deepEqual(parsed, expected), 'expected response body to equal ' + describe(expected),
            'expected response body not to equal ' + describe(expected));
        }
      },
      jsonBody: function (path, value) {
        var parsed, ok = true;
        try { parsed = JSON.parse(response.text()); } catch (e) { ok = false; }
        if (arguments.length === 0 || !ok) {
          check(ok, 'expected response body to be a valid json', 'expected response body not to be a valid json');
          return;
        }
        if (typeof path === 'object') {
          check(deepEqual(parsed, path), 'expected response body json to equal ' + describe(path),
            'expected response body json not to equal ' + describe(path));
          return;
        }
        var found = pathGet(parsed, path);
        if (arguments.length < 2) {
          check(found !== undefined, 'expected ' + describe(parsed) + ' to have nested property \'' + path + '\'',
            'expected ' + describe(parsed) + ' not to have nested property \'' + path + '\'');
        } else {
          check(deepEqual(found, value), 'expected response body json at \'' + path + '\' to equal ' + describe(value) + ' but got ' + describe(found),
            'expected response body json at \'' + path + '\' not to equal ' + describe(value));
        }
      },
      jsonSchema: function (schema) {
        var Ajv = require('ajv');
        var ajv = new Ajv({ allErrors: true, logger: false });
        var valid = false, errors = '';
        try {
          valid = ajv.validate(schema, JSON.parse(response.text()));
          errors = ajv.errorsText(ajv.errors);
        } catch (e) {
          errors = messageOf(e);
        }
        check(valid, 'expected data to satisfy schema but found following errors: ' + errors,
          'expected data to not satisfy schema');
      },
      withBody: function () { chain.body(); },
      json: function () { chain.jsonBody(); }
    };
    var properties = {
      ok: exactly(200), accepted: exactly(202), withoutContent: exactly(204), badRequest: exactly(400),
      unauthorized: exactly(401), forbidden: exactly(403), notFound: exactly(404),
      notAcceptable: exactly(406), rateLimited: exactly(429),
      info: function () { classOf(100, 199, '1XX'); },
      success: function () { classOf(200, 299, '2XX'); },
      redirection: function () { classOf(300, 399, '3XX'); },
      clientError: function () { classOf(400, 499, '4XX'); },
      serverError: function () { classOf(500, 599, '5XX'); },
      error: function () { classOf(400, 599, '4XX or 5XX'); },
      json: function () { chain.jsonBody(); },
      withBody: function () { chain.body(); }
    };
    var words = ['to', 'be', 'have', 'an', 'a', 'that', 'and', 'is', 'has', 'been'];
    words.forEach(function (word) {
      Object.defineProperty(a, word, { get: function () { return a; } });
    });
    Object.defineProperty(a, 'not', { get: function () { return responseAssertion(response, !negate); } });
    Object.keys(chain).forEach(function (key) { a[key] = chain[key]; });
    Object.keys(properties).forEach(function (key) {
      if (key === 'json' || key === 'withBody') {
        // Both a property (`to.be.json`) and, as Postman allows, a call.
        Object.defineProperty(a, key, { get: function () { properties[key](); return function () { return a; }; } });
      } else {
        Object.defineProperty(a, key, { get: function () { properties[key](); return a; } });
      }
    });
    return a;
  }

  function makeResponse(input) {
    var touch = function () { if (input.secret) state.readSecret = true; };
    var headers = pairList(input.headers, touch);
    var response = {
      code: input.code,
      status: input.status,
      headers: headers,
      responseTime: input.responseTime,
      responseSize: input.responseSize,
      cookies: pairList(input.cookies, touch),
      text: function () { touch(); return input.body; },
      json: function () { touch(); return JSON.parse(input.body); },
      reason: function () { return input.status; },
      size: function () { return { body: input.responseSize, header: 0, total: input.responseSize }; },
      toJSON: function () {
        touch();
        return { code: input.code, status: input.status, header: input.headers, body: input.body, responseTime: input.responseTime };
      }
    };
    Object.defineProperty(response, 'to', { get: function () { return responseAssertion(response, false); } });
    Object.defineProperty(response, 'body', { get: function () { touch(); return input.body; } });
    return response;
  }

  function makeTest() {
    function test(name, fn) {
      var record = { name: String(name), passed: true, skipped: false, message: null, at: null };
      state.tests.push(record);
      if (typeof fn !== 'function') {
        record.skipped = true;
        return pm;
      }
      var failed = function (error) {
        record.passed = false;
        record.message = messageOf(error);
        record.at = locate(error);
      };
      try {
        if (fn.length > 0) {
          fn(function (error) { if (error) failed(error); });
        } else {
          fn();
        }
      } catch (error) {
        failed(error);
      }
      return pm;
    }
    test.skip = function (name) {
      state.tests.push({ name: String(name), passed: true, skipped: true, message: null });
      return pm;
    };
    return test;
  }

  var pm;

  function setNextRequest(name) {
    state.next = { name: name === null || name === undefined ? null : String(name) };
  }

  function install(input) {
    var data = input.data || {};
    var iterationData = {
      get: function (key) { return own(data, String(key)) ? data[String(key)] : undefined; },
      has: function (key) { return own(data, String(key)); },
      toObject: function () { return JSON.parse(JSON.stringify(data)); },
      toJSON: function () { return JSON.parse(JSON.stringify(data)); },
      unset: function () {}
    };
    var response = input.response ? makeResponse(input.response) : undefined;
    var request = makeRequest(state.request);
    pm = {
      test: makeTest(),
      info: input.info,
      request: request,
      response: response,
      environment: scope('environment'),
      collectionVariables: scope('collectionVariables'),
      globals: scope('globals'),
      variables: scope('variables'),
      iterationData: iterationData,
      cookies: pairList(input.cookies, function () {}),
      execution: { setNextRequest: setNextRequest },
      require: require,
      sendRequest: function () {
        throw new Error('pm.sendRequest is not provided by apiflow\'s sandbox: send the request ' +
          'from a step of its own, before this one');
      },
      // Postman's visualizer is a view of its app; like Newman, a run has nothing to show it in.
      visualizer: { set: function () {}, clear: function () {} }
    };
    Object.defineProperty(pm, 'expect', {
      get: function () { return require('chai').expect; }
    });
    global.pm = pm;
    global.require = require;
    global.console = makeConsole();
    global.atob = atob;
    global.btoa = btoa;
    global.tests = {};
    global.postman = {
      setNextRequest: setNextRequest,
      getEnvironmentVariable: readVar,
      setEnvironmentVariable: function (key, value) { writeVar('environment', key, value); },
      clearEnvironmentVariable: function (key) { unsetVar('environment', key); },
      clearEnvironmentVariables: function () { pm.environment.clear(); },
      getGlobalVariable: readVar,
      setGlobalVariable: function (key, value) { writeVar('globals', key, value); },
      clearGlobalVariable: function (key) { unsetVar('globals', key); },
      clearGlobalVariables: function () { pm.globals.clear(); },
      getResponseHeader: function (key) { return response ? response.headers.get(key) : undefined; },
      getResponseCookie: function (key) {
        var value = response ? response.cookies.get(key) : undefined;
        return value === undefined ? undefined : { name: String(key), value: value };
      }
    };
    var snapshot = function () { return allVars(); };
    lazy('environment', snapshot);
    lazy('globals', snapshot);
    global.data = JSON.parse(JSON.stringify(data));
    global.iteration = input.info.iteration;
    global.request = {
      url: state.request.url,
      method: state.request.method,
      headers: state.request.headers.reduce(function (o, h) { o[h.key] = h.value; return o; }, {})
    };
    if (response) {
      lazy('responseBody', function () { return response.text(); });
      global.responseCode = { code: response.code, name: response.status, detail: response.status };
      lazy('responseHeaders', function () { return response.headers.toObject(); });
      global.responseTime = response.responseTime;
      lazy('responseCookies', function () { return response.cookies.all(); });
    } else {
      ['responseBody', 'responseCode', 'responseHeaders', 'responseTime', 'responseCookies']
        .forEach(function (name) { delete global[name]; });
    }
    lazy('_', function () { return require('lodash'); });
    lazy('CryptoJS', function () { return require('crypto-js'); });
    lazy('tv4', function () { return require('tv4'); });
  }

  // A global computed when first read, so that reading it is what marks a secret as read.
  function lazy(name, compute) {
    Object.defineProperty(global, name, {
      configurable: true,
      enumerable: false,
      get: function () {
        if (loading > 0) return undefined;
        var value = compute();
        Object.defineProperty(global, name, { configurable: true, writable: true, value: value });
        return value;
      },
      set: function (value) {
        Object.defineProperty(global, name, { configurable: true, writable: true, value: value });
      }
    });
  }

  function makeConsole() {
    function log(level) {
      return function () {
        var parts = [];
        for (var i = 0; i < arguments.length; i++) parts.push(describe(arguments[i]));
        state.console.push({ level: level, text: parts.join(' ') });
      };
    }
    return {
      log: log('log'), info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug')
    };
  }

  function finish() {
    var tests = global.tests;
    if (tests && typeof tests === 'object') {
      Object.keys(tests).forEach(function (name) {
        state.tests.push({
          name: name, passed: !!tests[name], skipped: false,
          message: tests[name] ? null : 'the test was set to ' + describe(tests[name])
        });
      });
    }
    var out = {
      tests: state.tests,
      console: state.console,
      changes: state.changes,
      request: state.request,
      next: state.next,
      readSecret: state.readSecret,
      error: state.error
    };
    return JSON.stringify(out);
  }

  global.__apiflow_run = function (inputJson, code) {
    var input = JSON.parse(inputJson);
    var secrets = {};
    input.secrets.forEach(function (name) { secrets[name] = true; });
    state = {
      vars: input.vars,
      secrets: secrets,
      tests: [],
      console: [],
      changes: [],
      request: input.request,
      next: null,
      readSecret: false,
      error: null
    };
    install(input);
    var script;
    try {
      script = new Function(code);
    } catch (error) {
      state.error = { message: messageOf(error), at: locate(error), syntax: true };
      return finish();
    }
    try {
      script.call(global);
    } catch (error) {
      state.error = { message: messageOf(error), at: locate(error), syntax: false };
    }
    return finish();
  };
})(globalThis);

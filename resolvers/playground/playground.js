// Outdial's GraphiQL: queries and mutations over HTTP, subscriptions over
// graphql-transport-ws, both authenticated with the Authorization header
// from the Headers tab.
(function () {
  var httpURL = new URL('/graphql', location.href).toString();
  var wsURL = httpURL.replace(/^http/, 'ws');
  var httpFetcher = GraphiQL.createFetcher({ url: httpURL });

  // operationType returns the type of the operation GraphiQL runs.
  function operationType(params, opts) {
    var doc = opts && opts.documentAST;
    if (!doc) {
      return /^\s*subscription\b/m.test(params.query || '') ? 'subscription' : 'query';
    }
    var ops = doc.definitions.filter(function (d) { return d.kind === 'OperationDefinition'; });
    var op = ops.filter(function (d) { return d.name && d.name.value === params.operationName; })[0] || ops[0];
    return op ? op.operation : 'query';
  }

  function fetcher(params, opts) {
    if (operationType(params, opts) !== 'subscription') {
      return httpFetcher(params, opts);
    }
    var headers = (opts && opts.headers) || {};
    var client = graphqlWs.createClient({ url: wsURL, connectionParams: { Authorization: headers.Authorization || headers.authorization || '' } });
    return {
      subscribe: function (sink) {
        var dispose = client.subscribe(params, {
          next: function (v) { sink.next(v); },
          error: function (e) { sink.error(e); },
          complete: function () { sink.complete(); client.dispose(); }
        });
        return { unsubscribe: function () { dispose(); client.dispose(); } };
      }
    };
  }

  var defaultQuery = [
    '# Who can call, and why the others cannot.',
    'query Agents {',
    '  agents(first: 20) {',
    '    totalCount',
    '    nodes {',
    '      name email',
    '      callingAbility {',
    '        version canMakeCalls',
    '        callerIds { phoneNumber { e164 } source outboundProfile { name } workItemLimit }',
    '        blockers { code message }',
    '      }',
    '    }',
    '  }',
    '  callingSummary { agents agentsCanMakeCalls blockers { code agents } }',
    '}',
    ''
  ].join('\n');

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: defaultQuery,
    defaultHeaders: '{\n  "Authorization": "Bearer PASTE-THE-TOKEN-PRINTED-AT-START"\n}',
    shouldPersistHeaders: true,
    defaultEditorToolsVisibility: 'headers'
  }));
})();

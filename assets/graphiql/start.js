// Starts GraphiQL against the endpoint that served this page (GET shows GraphiQL, POST answers
// queries). Kept out of the page so that its Content-Security-Policy can forbid inline scripts.
(function () {
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  var fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
  root.render(React.createElement(GraphiQL, { fetcher: fetcher, defaultEditorToolsVisibility: true }));
})();

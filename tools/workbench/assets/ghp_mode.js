// Syntax highlighting of Gatehouse policy (docs/policy-language.md) for
// CodeMirror 5, with its simple-mode addon. Highlighting only: the
// compiler, through /api/check, says what is right.
(function () {
  "use strict";
  var keywords = new RegExp("\\b(?:policy|layer|baseline|local|classifications|caveats|" +
      "sectors|record|types?|purposes?|organisation|sector|accredited|roles?|legal|bases?|" +
      "permit|forbid|defensive|when|and|or|not|unless|then|is|in|include|at|least|most|" +
      "encrypt|redact|retain|years?|months?|days?|notify|originator|require|recipient|" +
      "system|sender|classification|requester|rank)\\b");
  CodeMirror.defineSimpleMode("ghp", {
    start: [
      {regex: /#.*/, token: "comment"},
      {regex: /"(?:[^\\"]|\\.)*"?/, token: "string"},
      {regex: keywords, token: "keyword"},
      {regex: /[A-Z][A-Z0-9-]*\b/, token: "atom"},
      {regex: /\d+/, token: "number"},
      {regex: /[<(),]/, token: "operator"},
      {regex: /[\w-]+/, token: "variable"}
    ],
    meta: {lineComment: "#"}
  });
})();

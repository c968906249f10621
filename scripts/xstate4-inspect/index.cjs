// Resolved from this folder, so that @xstate/inspect's server and the machines a test builds share the XState 4 installed here.
const xstate = require('xstate');
const { inspect } = require('@xstate/inspect/lib/server');

module.exports = { createMachine: xstate.createMachine, interpret: xstate.interpret, inspectServer: inspect, xstateVersion: require('xstate/package.json').version };

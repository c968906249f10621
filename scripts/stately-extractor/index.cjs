// Stately's extractor, resolved from this folder so that it finds the XState 4 installed here.
module.exports = require('@xstate/machine-extractor');

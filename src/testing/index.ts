/** rtm-statechart/testing: tools for testing apps and the SDK against real faults (Node only). */
export { createFaultProxy } from './fault-proxy.js';
export type { BlackholeDirection, FaultMode, FaultProxy, FaultProxyOptions } from './fault-proxy.js';
export { createBalancer } from './balancer.js';
export type { Balancer } from './balancer.js';
export {
  afterDelay,
  CoverageRecorder,
  connectionStimuli,
  linkStimuli,
  serializeLinkState,
  definedStates,
  definedTransitions,
  delayOf,
  executePath,
  pathOf,
  shortestStatePaths,
  transitionCoveragePaths,
  transitionKey,
} from './model.js';
export type { ModelEvent, ModelPath, ModelStep, PathExecutor, PathGenerationOptions } from './model.js';
export { recordingToPath, replayOnMachine } from './recording.js';
export type { Recording, RecordingMessage, ReplayMismatch } from './recording.js';
export { checkRecordingFile, readRecording, RECORDING_FORMAT, RECORDING_LIMITS, RECORDING_VERSION } from './recording-file.js';
export type { RecordedActor, RecordedMessage, RecordingFile } from './recording-file.js';
export { linkIsDown, performOnRealSystem } from './real-actions.js';
export type { RealRun } from './real-actions.js';
export { connectionActorOf, replayOnRealClient, replayRecordingOnRealClient } from './replay-real.js';
export type { RealReplayMismatch, RealReplayOptions } from './replay-real.js';

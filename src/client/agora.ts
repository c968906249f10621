/**
 * The default export, shaped like Agora RTM 1.x's `AgoraRTM` namespace (issue 14.2), so that an
 * app written against `agora-rtm-sdk` ports by changing the import and saying where the server
 * is. Agora takes an App ID and finds its servers itself; this SDK needs the server's URL:
 *
 *   AgoraRTM.createInstance({ url: 'ws://127.0.0.1:8080' })
 *   AgoraRTM.createInstance(appId, { url: 'ws://127.0.0.1:8080' })   // the App ID is not used
 *   AgoraRTM.createInstance('ws://127.0.0.1:8080')
 *
 * Agora's own config keys (`enableLogUpload`, `logFilter`, `enableCloudProxy`) and area codes
 * are accepted and have no effect: there is no log upload, cloud proxy or region here.
 */
import { ConnectionChangeReason, ConnectionState } from '../../machines/reasons.js';
import { RtmError, RtmErrorCode } from '../errors.js';
import { MessageType, PeerOnlineState, PeerSubscriptionOption } from '../status-codes.js';
import { RtmClient, type RtmClientOptions } from './client.js';

/** Agora RTM 1.x's log filter shape (accepted, not used). */
export interface LogFilterType {
  error: boolean;
  warn: boolean;
  info: boolean;
  track: boolean;
  debug: boolean;
}

/** Agora RTM 1.x's `RtmConfig` (accepted, not used). */
export interface RtmConfig {
  enableLogUpload?: boolean;
  logFilter?: LogFilterType;
  enableCloudProxy?: boolean;
}

/** `createInstance` options: the client's own (`url` first of all) and Agora's config keys. */
export type AgoraInstanceOptions = RtmClientOptions & RtmConfig;

export function createInstance(options: AgoraInstanceOptions): RtmClient;
export function createInstance(urlOrAppId: string, config?: RtmConfig & Partial<RtmClientOptions>, areaCodes?: readonly string[]): RtmClient;
export function createInstance(
  appIdOrOptions: string | AgoraInstanceOptions,
  config?: RtmConfig & Partial<RtmClientOptions>,
): RtmClient {
  const given: Partial<AgoraInstanceOptions> =
    typeof appIdOrOptions === 'string'
      ? { ...(/^wss?:\/\//.test(appIdOrOptions) ? { url: appIdOrOptions } : {}), ...config }
      : (appIdOrOptions ?? {});
  if (typeof given.url !== 'string') {
    throw new RtmError(
      RtmErrorCode.INVALID_ARGUMENT,
      'createInstance needs the server URL: createInstance({ url }) or createInstance(appId, { url })',
    );
  }
  const { url, timing, inspect, WebSocket } = given;
  return new RtmClient({
    url,
    ...(timing === undefined ? {} : { timing }),
    ...(inspect === undefined ? {} : { inspect }),
    ...(WebSocket === undefined ? {} : { WebSocket }),
  });
}

const LOG_FILTER_OFF: LogFilterType = Object.freeze({ error: false, warn: false, info: false, track: false, debug: false });
const LOG_FILTER_ERROR: LogFilterType = Object.freeze({ ...LOG_FILTER_OFF, error: true });
const LOG_FILTER_WARNING: LogFilterType = Object.freeze({ ...LOG_FILTER_ERROR, warn: true });
const LOG_FILTER_INFO: LogFilterType = Object.freeze({ ...LOG_FILTER_WARNING, info: true });

/** `import AgoraRTM from 'rtm-statechart'`. */
const AgoraRTM = Object.freeze({
  createInstance,
  ConnectionState,
  ConnectionChangeReason,
  PeerOnlineState,
  PeerSubscriptionOption,
  MessageType,
  LOG_FILTER_OFF,
  LOG_FILTER_ERROR,
  LOG_FILTER_WARNING,
  LOG_FILTER_INFO,
});

export default AgoraRTM;

import { DETECTOR_NAMES, type Detector, type DetectorName } from './masking-types.js';
import { emailDetector, phoneDetector } from './detectors/contact.js';
import { cardDetector, ibanDetector, ssnDetector } from './detectors/financial.js';
import { keyedSecretDetector } from './detectors/keyed-secret.js';
import { ipv4Detector, ipv6Detector } from './detectors/network.js';
import { privateKeyDetector } from './detectors/private-key.js';
import {
  awsAccessKeyIdDetector,
  awsSecretAccessKeyDetector,
  githubTokenDetector,
  gitlabTokenDetector,
  jwtDetector,
  slackTokenDetector,
} from './detectors/tokens.js';

// The built-in detectors by the names config uses. Detectors hold no per-call state (their
// RegExps are reset on every call), so one instance of each serves every rule and session.

const BUILTIN: Readonly<Record<DetectorName, Detector>> = {
  email: emailDetector,
  phone: phoneDetector,
  card: cardDetector,
  iban: ibanDetector,
  ssn: ssnDetector,
  ipv4: ipv4Detector,
  ipv6: ipv6Detector,
  jwt: jwtDetector,
  aws_access_key_id: awsAccessKeyIdDetector,
  aws_secret_access_key: awsSecretAccessKeyDetector,
  github_token: githubTokenDetector,
  gitlab_token: gitlabTokenDetector,
  slack_token: slackTokenDetector,
  private_key: privateKeyDetector,
  keyed_secret: keyedSecretDetector,
};

export function builtinDetector(name: DetectorName): Detector {
  return BUILTIN[name];
}

export function isDetectorName(name: string): name is DetectorName {
  return (DETECTOR_NAMES as readonly string[]).includes(name);
}

/** Every built-in detector, in DETECTOR_NAMES order. */
export function allBuiltinDetectors(): readonly Detector[] {
  return DETECTOR_NAMES.map((name) => BUILTIN[name]);
}

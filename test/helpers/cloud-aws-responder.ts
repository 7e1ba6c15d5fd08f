import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { testPki } from './ingest-server.js';

/**
 * A local stand-in for CloudWatch and STS that answers the real AWS SDK v3's
 * requests in the wire protocols the installed clients use:
 * - CloudWatch: AWS JSON 1.0 with the awsQueryCompatible trait (the client's
 *   runtimeConfig.shared.js: AwsJson1_0Protocol, serviceTarget
 *   GraniteServiceVersion20100801). Request: POST /, X-Amz-Target
 *   GraniteServiceVersion20100801.GetMetricData, application/x-amz-json-1.0
 *   (https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html,
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-protocols-faq.html).
 *   Body shapes: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
 *   and API_MetricDataResult.html (Id, Label, Timestamps — epoch seconds in JSON —,
 *   Values, StatusCode Complete|PartialData|InternalError|Forbidden, Messages; NextToken).
 * - Errors: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CommonErrors.html
 *   (AccessDeniedException 400, ThrottlingException 400), as an awsJson1_0 error
 *   body {"__type", "message"} plus the awsQueryCompatible header
 *   x-amzn-query-error: <Code>;<Sender|Receiver>
 *   (https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#aws-protocols-awsquerycompatible-trait):
 *   the code a query client saw (AccessDenied, Throttling).
 * - STS: awsQuery (form-encoded Action=…&Version=2011-06-15, XML answers):
 *   https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html and
 *   API_AssumeRole.html (response elements and their XML example);
 *   error document https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
 *   (<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>).
 */

export type AwsMode = 'ok' | 'denied' | 'throttled' | 'invalid-token';

export interface AwsRequest {
  /** GetMetricData, GetCallerIdentity, AssumeRole, … */
  operation: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (CloudWatch) or the form fields (STS). */
  body: Record<string, unknown>;
}

export interface AwsResponder {
  url: string;
  caFile: string;
  readonly requests: AwsRequest[];
  mode: AwsMode;
  /** Points per CloudWatch MetricName: [epoch seconds, value]; a name not listed has no data. */
  data: Map<string, Array<[number, number]>>;
  /** A per-query StatusCode to answer instead of Complete (e.g. Forbidden), by MetricName. */
  statusFor: Map<string, 'Forbidden' | 'InternalError'>;
  /** Answer in two pages: the first with PartialData and a NextToken. */
  paged: boolean;
  callerArn: string;
  stop(): Promise<void>;
}

const ACCOUNT = '123456789012';
const requestId = (): string => crypto.randomUUID();

interface MetricQueryBody {
  Id: string;
  MetricStat?: { Metric?: { MetricName?: string } };
}

function json(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId(), ...extra });
  res.end(JSON.stringify(body));
}

function xml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId() });
  res.end(body);
}

const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

function stsError(res: ServerResponse, status: number, code: string, message: string): void {
  xml(
    res,
    status,
    `<ErrorResponse xmlns="${STS_NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId()}</RequestId></ErrorResponse>`,
  );
}

export async function startAwsResponder(): Promise<AwsResponder> {
  const pki = testPki();
  const state: Omit<AwsResponder, 'url' | 'caFile' | 'stop'> = {
    requests: [],
    mode: 'ok',
    data: new Map(),
    statusFor: new Map(),
    paged: false,
    callerArn: `arn:aws:iam::${ACCOUNT}:user/logstag-agent`,
  };

  const cloudwatch = (res: ServerResponse, body: Record<string, unknown>): void => {
    if (state.mode === 'denied') {
      return json(
        res,
        400,
        {
          __type: 'com.amazon.coral.service#AccessDeniedException',
          message: `User: ${state.callerArn} is not authorized to perform: cloudwatch:GetMetricData because no identity-based policy allows the cloudwatch:GetMetricData action`,
        },
        { 'x-amzn-query-error': 'AccessDenied;Sender' },
      );
    }
    if (state.mode === 'throttled') {
      return json(
        res,
        400,
        { __type: 'com.amazon.coral.availability#ThrottlingException', message: 'Rate exceeded' },
        { 'x-amzn-query-error': 'Throttling;Sender' },
      );
    }
    if (state.mode === 'invalid-token') {
      // A JSON-protocol service rejects an unknown access key as UnrecognizedClientException (403); the query code is InvalidClientTokenId.
      return json(
        res,
        403,
        { __type: 'com.amazon.coral.service#UnrecognizedClientException', message: 'The security token included in the request is invalid.' },
        { 'x-amzn-query-error': 'InvalidClientTokenId;Sender' },
      );
    }
    const second = body.NextToken === 'page-2';
    const results = ((body.MetricDataQueries as MetricQueryBody[]) ?? []).map((q) => {
      const name = q.MetricStat?.Metric?.MetricName ?? '';
      const forced = state.statusFor.get(name);
      if (forced !== undefined) {
        return {
          Id: q.Id,
          Label: name,
          Timestamps: [],
          Values: [],
          StatusCode: forced,
          Messages: [{ Code: forced, Value: forced === 'Forbidden' ? 'Insufficient permissions' : 'Internal error' }],
        };
      }
      const all = state.data.get(name) ?? [];
      const half = Math.ceil(all.length / 2);
      const points = !state.paged ? all : second ? all.slice(half) : all.slice(0, half);
      const partial = state.paged && !second && all.length > half;
      return {
        Id: q.Id,
        Label: name,
        Timestamps: points.map((p) => p[0]),
        Values: points.map((p) => p[1]),
        StatusCode: partial ? 'PartialData' : 'Complete',
        Messages: [],
      };
    });
    const more = state.paged && !second && results.some((r) => r.StatusCode === 'PartialData');
    json(res, 200, { MetricDataResults: results, Messages: [], ...(more ? { NextToken: 'page-2' } : {}) });
  };

  const sts = (res: ServerResponse, form: Record<string, string>): void => {
    if (form.Action === 'GetCallerIdentity') {
      const userId = state.callerArn.endsWith(':root') ? ACCOUNT : 'AIDACKCEVSQ6C2EXAMPLE';
      return xml(
        res,
        200,
        `<GetCallerIdentityResponse xmlns="${STS_NS}"><GetCallerIdentityResult><Arn>${state.callerArn}</Arn><UserId>${userId}</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${requestId()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
    }
    if (form.Action === 'AssumeRole') {
      const expiration = new Date(Date.now() + 3600_000).toISOString();
      const roleName = (form.RoleArn ?? '').split('/').pop() ?? 'role';
      return xml(
        res,
        200,
        `<AssumeRoleResponse xmlns="${STS_NS}"><AssumeRoleResult><AssumedRoleUser><Arn>arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${form.RoleSessionName}</Arn><AssumedRoleId>AROA3XFRBF535EXAMPLE:${form.RoleSessionName}</AssumedRoleId></AssumedRoleUser><Credentials><AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId><SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey><SessionToken>FwoGZXIvYXdzEXAMPLETOKEN</SessionToken><Expiration>${expiration}</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>${requestId()}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
      );
    }
    stsError(res, 400, 'InvalidAction', 'Could not find operation');
  };

  const server: Server = createServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string') {
        const body = JSON.parse(raw || '{}') as Record<string, unknown>;
        const operation = target.split('.').pop() ?? '';
        state.requests.push({ operation, headers: req.headers, body });
        if (target === 'GraniteServiceVersion20100801.GetMetricData') return cloudwatch(res, body);
        return json(res, 400, { __type: 'com.amazonaws.cloudwatch#InvalidAction', message: 'unknown operation' });
      }
      const form = Object.fromEntries(new URLSearchParams(raw));
      state.requests.push({ operation: form.Action ?? '', headers: req.headers, body: form });
      sts(res, form);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `https://127.0.0.1:${port}`,
    caFile: pki.caFile,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as AwsResponder;
}

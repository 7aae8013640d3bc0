/**
 * gRPC service definitions for @grpc/grpc-js built from the precompiled protobuf descriptor: each method's
 * path and a serializer pair that turns messages into plain objects (snake_case fields as in the .proto,
 * int64 as numbers, enums as their names, bytes as Buffers) and back.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs/light.js';
import { descriptor } from './descriptor.generated.js';

const root = protobuf.Root.fromJSON(descriptor as unknown as protobuf.INamespace);

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: false, oneofs: false };

export type Message = Record<string, any>;

function codec(type: protobuf.Type) {
  return {
    serialize: (obj: Message) => Buffer.from(type.encode(type.fromObject(obj)).finish()),
    deserialize: (buf: Buffer) => type.toObject(type.decode(buf), TO_OBJECT) as Message,
  };
}

export function serviceDefinition(fullName: string): ServiceDefinition {
  const service = root.lookupService(fullName);
  const def: Record<string, ServiceDefinition[string]> = {};
  for (const method of Object.values(service.methods)) {
    method.resolve();
    const req = codec(method.resolvedRequestType!);
    const res = codec(method.resolvedResponseType!);
    def[method.name] = {
      path: `/${fullName}/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: req.serialize,
      requestDeserialize: req.deserialize,
      responseSerialize: res.serialize,
      responseDeserialize: res.deserialize,
      originalName: method.name,
    };
  }
  return def;
}

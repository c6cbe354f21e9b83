import type { SinkFactory } from './sink.js';
import { otlpHttpSink } from './otlp_http/sink.js';
import { fileSink } from './file/sink.js';
import { kafkaSink } from './kafka/sink.js';
import { splunkHecSink } from './splunk_hec/sink.js';
import { debugSink } from './debug/sink.js';

// The registry: `type:` in a sinks entry → its factory.
export const sinkFactories: Record<string, SinkFactory<any>> = {
  [otlpHttpSink.type]: otlpHttpSink,
  [fileSink.type]: fileSink,
  [kafkaSink.type]: kafkaSink,
  [splunkHecSink.type]: splunkHecSink,
  [debugSink.type]: debugSink,
};

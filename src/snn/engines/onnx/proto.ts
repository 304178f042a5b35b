/**
 * The ONNX protobuf schema subset (onnx.proto next to this file, embedded verbatim because tsc does not
 * copy .proto files) and an encoder built on protobufjs reflection.
 */
import protobuf from 'protobufjs';

export const ONNX_PROTO = "// Subset of the official ONNX schema (onnx/onnx.proto, IR version 8), field numbers unchanged.\n// Only what evstream's graph generator writes. The same text is embedded in proto.ts (tsc does\n// not copy .proto files into the build output); keep the two identical (a test checks it).\nsyntax = \"proto3\";\npackage onnx;\n\nmessage AttributeProto {\n  enum AttributeType {\n    UNDEFINED = 0;\n    FLOAT = 1;\n    INT = 2;\n    STRING = 3;\n    TENSOR = 4;\n    GRAPH = 5;\n    FLOATS = 6;\n    INTS = 7;\n    STRINGS = 8;\n  }\n  string name = 1;\n  float f = 2;\n  int64 i = 3;\n  bytes s = 4;\n  TensorProto t = 5;\n  repeated float floats = 7;\n  repeated int64 ints = 8;\n  repeated bytes strings = 9;\n  AttributeType type = 20;\n}\n\nmessage ValueInfoProto {\n  string name = 1;\n  TypeProto type = 2;\n  string doc_string = 3;\n}\n\nmessage NodeProto {\n  repeated string input = 1;\n  repeated string output = 2;\n  string name = 3;\n  string op_type = 4;\n  string domain = 7;\n  repeated AttributeProto attribute = 5;\n  string doc_string = 6;\n}\n\nmessage ModelProto {\n  int64 ir_version = 1;\n  repeated OperatorSetIdProto opset_import = 8;\n  string producer_name = 2;\n  string producer_version = 3;\n  string domain = 4;\n  int64 model_version = 5;\n  string doc_string = 6;\n  GraphProto graph = 7;\n  repeated StringStringEntryProto metadata_props = 14;\n}\n\nmessage StringStringEntryProto {\n  string key = 1;\n  string value = 2;\n}\n\nmessage GraphProto {\n  repeated NodeProto node = 1;\n  string name = 2;\n  repeated TensorProto initializer = 5;\n  string doc_string = 10;\n  repeated ValueInfoProto input = 11;\n  repeated ValueInfoProto output = 12;\n  repeated ValueInfoProto value_info = 13;\n}\n\nmessage TensorProto {\n  enum DataType {\n    UNDEFINED = 0;\n    FLOAT = 1;\n    UINT8 = 2;\n    INT8 = 3;\n    UINT16 = 4;\n    INT16 = 5;\n    INT32 = 6;\n    INT64 = 7;\n    STRING = 8;\n    BOOL = 9;\n  }\n  repeated int64 dims = 1;\n  int32 data_type = 2;\n  repeated float float_data = 4 [packed = true];\n  repeated int32 int32_data = 5 [packed = true];\n  repeated int64 int64_data = 7 [packed = true];\n  string name = 8;\n  bytes raw_data = 9;\n}\n\nmessage TensorShapeProto {\n  message Dimension {\n    oneof value {\n      int64 dim_value = 1;\n      string dim_param = 2;\n    }\n  }\n  repeated Dimension dim = 1;\n}\n\nmessage TypeProto {\n  message Tensor {\n    int32 elem_type = 1;\n    TensorShapeProto shape = 2;\n  }\n  oneof value {\n    TypeProto.Tensor tensor_type = 1;\n  }\n}\n\nmessage OperatorSetIdProto {\n  string domain = 1;\n  int64 version = 2;\n}\n";

let modelType: protobuf.Type | undefined;

/** The onnx.ModelProto type (parsed once, field names as in onnx.proto: keepCase). */
export function modelProtoType(): protobuf.Type {
  if (!modelType) modelType = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

/** Encode a plain ModelProto object (snake_case fields) to bytes; verifies it first. */
export function encodeModel(model: Record<string, unknown>): Uint8Array {
  const T = modelProtoType();
  const err = T.verify(model);
  if (err) throw new Error(`onnx: invalid ModelProto: ${err}`);
  return T.encode(T.fromObject(model)).finish();
}

/** Decode bytes to a plain object (tests, debugging). */
export function decodeModel(bytes: Uint8Array): Record<string, unknown> {
  const T = modelProtoType();
  return T.toObject(T.decode(bytes), { longs: Number, bytes: Array, defaults: false }) as Record<string, unknown>;
}

// A second, independent Blob client for MediaGen's interop tests, on @azure/storage-blob.
//   node blob-client.mjs get <container> <blob> <file>                           writes the blob to <file>, prints {contentType, metadata}
//   node blob-client.mjs put <container> <blob> <file> <contentType> <metadata>  uploads <file>; <metadata> is a JSON object
// The account comes from MEDIAGEN_AZURITE_CONNECTION_STRING.
import { readFile } from "node:fs/promises";
import { BlobServiceClient } from "@azure/storage-blob";

const [command, container, blobName, file, contentType, metadata] = process.argv.slice(2);
const service = BlobServiceClient.fromConnectionString(process.env.MEDIAGEN_AZURITE_CONNECTION_STRING);
const blob = service.getContainerClient(container).getBlockBlobClient(blobName);

if (command === "get") {
  await blob.downloadToFile(file);
  const properties = await blob.getProperties();
  console.log(JSON.stringify({ contentType: properties.contentType, metadata: properties.metadata }));
} else if (command === "put") {
  await blob.uploadData(await readFile(file), {
    blobHTTPHeaders: { blobContentType: contentType },
    metadata: JSON.parse(metadata),
  });
} else {
  console.error(`unknown command '${command}'`);
  process.exit(2);
}

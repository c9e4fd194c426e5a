import sharp from 'sharp';

// Imported for its side effect, once per process. The prebuilt libvips carries
// loaders for WebP, GIF, TIFF, SVG, HEIF/AVIF, JPEG 2000, JPEG XL, PDF, Ultra HDR
// and more; each is attack surface the service never needs. Magic-byte sniffing
// already routes only JPEG and PNG signatures to sharp; blocking every other
// loader means a file that also matches some other loader's sniffer (or a
// future libvips that prefers a different loader for JPEG bytes) still cannot
// reach it. Ultra HDR JPEGs then decode through the plain JPEG loader as their
// SDR base image, which is what an avatar shows anyway.
//
// This is process-wide: any other sharp user in this process can likewise only
// load JPEG and PNG from buffers (encoding to any format is unaffected).
sharp.block({ operation: ['VipsForeignLoad'] });
sharp.unblock({ operation: ['VipsForeignLoadJpegBuffer', 'VipsForeignLoadPngBuffer'] });

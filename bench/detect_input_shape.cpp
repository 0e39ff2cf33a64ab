// bench/detect_input_shape.cpp — what the detector's input shape costs and buys: Yolo-Fastest on
// OpenCV dnn, one core, with a 16:9 frame stretched to 320x320 (what reelscale does) or to 320x192
// (aspect kept, 40% less work), each compared with a 640x384 letterboxed run as the reference.
// Frames come from the bundled clips, upscaled to 1920 wide, decoded by the ffmpeg CLI. Also
// where OpenCV dnn spends a 320x320 pass, by convolution kind.
// Usage: detect_input_shape MODELS_DIR SAMPLES_DIR. Prints Markdown rows.
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

struct Detections {
  std::vector<cv::Rect2d> boxes;
};

// All frames of `clip` at `fps`, 1920 wide, as BGR images.
std::vector<cv::Mat> frames_of(const std::string& clip, double fps, int height) {
  const std::string cmd = "ffmpeg -v error -i '" + clip + "' -vf fps=" + std::to_string(fps) +
                          ",scale=1920:" + std::to_string(height) + " -f rawvideo -pix_fmt bgr24 -";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::vector<cv::Mat> frames;
  if (!pipe) return frames;
  for (;;) {
    cv::Mat frame(height, 1920, CV_8UC3);
    if (fread(frame.data, 1, frame.total() * 3, pipe) != frame.total() * 3) break;
    frames.push_back(frame);
  }
  pclose(pipe);
  return frames;
}

// `letterbox`: scale to fit w x h keeping the aspect, pad with grey; else stretch to w x h.
Detections detect(cv::dnn::Net& net, const cv::Mat& image, int w, int h, bool letterbox) {
  double kx = static_cast<double>(w) / image.cols, ky = static_cast<double>(h) / image.rows, ox = 0, oy = 0;
  cv::Mat input;
  if (letterbox) {
    const double s = std::min(kx, ky);
    const int rw = static_cast<int>(image.cols * s + 0.5), rh = static_cast<int>(image.rows * s + 0.5);
    input = cv::Mat(h, w, CV_8UC3, cv::Scalar(127, 127, 127));
    ox = (w - rw) / 2;
    oy = (h - rh) / 2;
    cv::resize(image, input(cv::Rect(static_cast<int>(ox), static_cast<int>(oy), rw, rh)), cv::Size(rw, rh), 0, 0,
               cv::INTER_AREA);
    kx = ky = s;
  } else {
    cv::resize(image, input, cv::Size(w, h));
  }
  net.setInput(cv::dnn::blobFromImage(input, 1.0 / 255.0, cv::Size(), cv::Scalar(), true, false));
  std::vector<cv::Mat> outs;
  net.forward(outs, net.getUnconnectedOutLayersNames());
  std::vector<cv::Rect2d> boxes;
  std::vector<float> scores;
  for (const cv::Mat& out : outs) {
    for (int r = 0; r < out.rows; ++r) {
      const float* row = out.ptr<float>(r);
      if (row[5] < 0.35f) continue;
      const double cx = (row[0] * w - ox) / kx, cy = (row[1] * h - oy) / ky, bw = row[2] * w / kx, bh = row[3] * h / ky;
      boxes.emplace_back(cx - bw / 2, cy - bh / 2, bw, bh);
      scores.push_back(row[5]);
    }
  }
  std::vector<int> keep;
  cv::dnn::NMSBoxes(boxes, scores, 0.35f, 0.45f, keep);
  Detections d;
  for (int i : keep) d.boxes.push_back(boxes[i]);
  return d;
}

double iou(const cv::Rect2d& a, const cv::Rect2d& b) {
  const double inter = (a & b).area();
  return inter / (a.area() + b.area() - inter);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: detect_input_shape MODELS_DIR SAMPLES_DIR\n");
    return 2;
  }
  const std::string models = argv[1], samples = argv[2];
  cv::setNumThreads(1);
  cv::dnn::Net net = cv::dnn::readNetFromDarknet(models + "/yolo-fastest-1.1_body.cfg", models + "/yolo-fastest-1.1_body.weights");
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  struct Clip {
    std::string name, path;
    double fps;
  };
  const std::vector<Clip> clips = {{"person clip, 81 frames", samples + "/one-by-one-person-8s_derived.mp4", 10},
                                   {"Tears of Steel, 20 frames", samples + "/tears_of_steel_10s_640x360.mp4", 2}};
  struct Shape {
    const char* name;
    int w, h;
  };
  const Shape shapes[] = {{"320x320 stretched (reelscale)", 320, 320}, {"320x192 stretched (aspect kept)", 320, 192}};
  std::printf("| clip | input | ms per frame (mean, one core) | reference boxes matched | extra boxes | mean IoU |\n"
              "|---|---|---|---|---|---|\n");
  for (const Clip& clip : clips) {
    const std::vector<cv::Mat> frames = frames_of(clip.path, clip.fps, 1080);
    std::vector<Detections> reference;
    for (const cv::Mat& f : frames) reference.push_back(detect(net, f, 640, 384, true));
    size_t reference_boxes = 0;
    for (const Detections& d : reference) reference_boxes += d.boxes.size();
    for (const Shape& shape : shapes) {
      detect(net, frames.front(), shape.w, shape.h, false);  // warm-up
      double ms = 0, iou_sum = 0;
      int matched = 0, extra = 0;
      for (size_t i = 0; i < frames.size(); ++i) {
        const auto t = std::chrono::steady_clock::now();
        const Detections d = detect(net, frames[i], shape.w, shape.h, false);
        ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
        std::vector<bool> used(reference[i].boxes.size(), false);
        for (const cv::Rect2d& box : d.boxes) {
          int best = -1;
          double best_iou = 0.5;  // a match needs IoU >= 0.5
          for (size_t r = 0; r < used.size(); ++r) {
            if (!used[r] && iou(box, reference[i].boxes[r]) >= best_iou) {
              best = static_cast<int>(r);
              best_iou = iou(box, reference[i].boxes[r]);
            }
          }
          if (best < 0) {
            ++extra;
            continue;
          }
          used[best] = true;
          ++matched;
          iou_sum += best_iou;
        }
      }
      std::printf("| %s | %s | %.2f | %d of %zu | %d | %.3f |\n", clip.name.c_str(), shape.name, ms / frames.size(), matched,
                  reference_boxes, extra, matched ? iou_sum / matched : 0.0);
    }
  }
  // Where OpenCV dnn spends a 320x320 pass, by convolution kind (its own per-layer timer).
  cv::Mat blob({1, 3, 320, 320}, CV_32F, cv::Scalar(0.5));
  for (int i = 0; i < 5; ++i) {
    net.setInput(blob);
    std::vector<cv::Mat> outs;
    net.forward(outs, net.getUnconnectedOutLayersNames());
  }
  std::vector<double> layer_ticks;
  const double total_ms = net.getPerfProfile(layer_ticks) * 1000 / cv::getTickFrequency();
  double pointwise_ms = 0, depthwise_ms = 0, other_ms = 0;
  int pointwise = 0, depthwise = 0;
  for (size_t i = 0; i < layer_ticks.size(); ++i) {
    const cv::Ptr<cv::dnn::Layer> layer = net.getLayer(static_cast<int>(i) + 1);
    const double ms = layer_ticks[i] * 1000 / cv::getTickFrequency();
    if (layer->type == "Convolution" && layer->blobs[0].size[2] == 1) {
      pointwise_ms += ms, ++pointwise;
    } else if (layer->type == "Convolution" && layer->blobs[0].size[1] == 1) {
      depthwise_ms += ms, ++depthwise;
    } else {
      other_ms += ms;
    }
  }
  std::printf("\nOpenCV dnn, one 320x320 pass: %.2f ms; %d pointwise convolutions %.2f ms, %d depthwise %.2f ms, "
              "the rest %.2f ms\n",
              total_ms, pointwise, pointwise_ms, depthwise, depthwise_ms, other_ms);
  return 0;
}
